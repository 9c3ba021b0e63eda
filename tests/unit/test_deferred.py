"""Cinder's trimmed import (cinderlib/cinder/deferred.py) and the cheap
schema check that spares a cold start Alembic."""

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from cinderlib.cinder import deferred
from cinderlib.persistence import migrations

HERE = os.path.dirname(os.path.abspath(__file__))


def test_real_drivers_build_after_the_trimmed_import():
    """In a fresh interpreter: the file driver works through the API and
    Cinder's LVM, NFS and RBD drivers import and build, while the
    deferred modules have not run; used, they run (tests/unit/
    deferred_check.py, which also runs by hand on other Cinder
    releases)."""
    done = subprocess.run([sys.executable, os.path.join(
        HERE, 'deferred_check.py')], capture_output=True, text=True,
        timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # Cinder 27 and 28: the cinder.db package star-imports cinder.db.api,
    # which imports cinder.api.common, so both run when Cinder loads.
    eager = ({'cinder.db.api': 'ran', 'cinder.api.common': 'ran'}
             if _db_package_copies_the_api() else
             {'cinder.api.common': 'absent'})
    # A module not installed (Ceph's bindings, on most Pythons) is absent.
    installed = {name: 'deferred' if importlib.util.find_spec(
        name.split('.')[0]) else 'absent' for name in deferred.DEFERRED}
    for key in ('after_backend', 'after_operations'):
        assert found[key] == {'models': 'absent', **installed, **eager}
    assert found['volume_name_template'] == 'volume-%s'
    assert found['frozen'] > 50_000  # Cinder's modules' objects
    assert found['volume_name'].startswith('volume-')
    assert found['snapshot_volume'] is True
    assert found['model_name'] == 'Volume'
    assert found['built'] == {'lvm': 'LVMVolumeDriver', 'nfs': 'NfsDriver',
                              'rbd': 'RBDDriver'}
    assert found['flow'] and found['db_api_real']
    assert found['manager'] == 'VolumeManager'
    assert found['db_api_shimmed'] is True  # the plugin's, after the run
    assert found['model_after_run'] == 'volumes'
    assert found['oslo_db_engine'] == 1
    assert found['vmware_session'] == 'VMwareAPISession'
    assert found['vmware_moref'] is True
    assert found['at_end']['cinder.db.api'] == 'ran'
    assert found['at_end']['models'] == 'loaded'
    for name in ('oslo_db.sqlalchemy.engines', 'oslo_vmware.api',
                 'oslo_vmware.vim_util'):
        assert found['at_end'][name] == 'ran'
    if installed['rbd'] == 'deferred':
        assert found['ceph_bindings'] == [True, True, True]
        assert found['at_end']['rados'] == found['at_end']['rbd'] == 'ran'


def _db_package_copies_the_api():
    """Cinder 27 and 28 (they have cinder.db.sqlalchemy.api); read from
    the files, as importing would load Cinder in this process."""
    locations = importlib.util.find_spec('cinder').submodule_search_locations
    return os.path.exists(os.path.join(locations[0], 'db', 'sqlalchemy',
                                       'api.py'))


@pytest.fixture
def sample(tmp_path, monkeypatch):
    """A module of our own, deferred; its code records that it ran."""
    (tmp_path / 'deferred_sample.py').write_text(
        'import time\n'
        'RUNS = globals().setdefault("RUNS", [])\n'
        'time.sleep(0.2)\n'
        'RUNS.append(1)\n'
        'def original():\n'
        '    return "original"\n'
        'VALUE = 42\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(deferred.DEFERRED, 'deferred_sample', None)
    deferred.install()
    yield
    sys.modules.pop('deferred_sample', None)


def test_a_deferred_module_runs_on_first_use_and_keeps_what_was_set(sample):
    import deferred_sample
    assert deferred.is_deferred('deferred_sample')
    deferred_sample.original = lambda: 'ours'
    assert deferred.is_deferred('deferred_sample')
    assert deferred_sample.VALUE == 42
    assert not deferred.is_deferred('deferred_sample')
    assert deferred_sample.original() == 'ours'
    assert deferred_sample.RUNS == [1]


def test_threads_wait_for_the_whole_module(sample):
    import deferred_sample
    seen, errors = [], []

    def read():
        try:
            seen.append(deferred_sample.VALUE)
        except Exception as error:  # reported below
            errors.append(error)
    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
        time.sleep(0.01)
    for thread in threads:
        thread.join(10)
    assert errors == [] and seen == [42] * 4
    assert deferred_sample.RUNS == [1]


def test_from_import_runs_the_module(sample):
    from deferred_sample import VALUE
    assert VALUE == 42
    assert not deferred.is_deferred('deferred_sample')


def test_head_is_alembics_newest_revision():
    assert migrations.HEAD == migrations.revisions()[-1]


def test_a_current_schema_is_checked_without_alembic(tmp_path):
    """The second process on a database at HEAD never imports Alembic."""
    url = f'sqlite:///{tmp_path}/db.sqlite'
    code = ('import sys, sqlalchemy\n'
            'from cinderlib.persistence import migrations\n'
            f'migrations.upgrade(sqlalchemy.create_engine({url!r}))\n'
            'print("alembic" in sys.modules)\n')
    runs = [subprocess.run([sys.executable, '-c', code], capture_output=True,
                           text=True, timeout=120) for _ in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs[1].stderr
    assert [run.stdout.split() for run in runs] == [['True'], ['False']]


def test_a_submodule_imports_without_its_package_code(tmp_path, monkeypatch):
    package = tmp_path / 'deferred_package'
    package.mkdir()
    (package / '__init__.py').write_text(
        'from deferred_package.part import VALUE\nRAN = True\n')
    (package / 'part.py').write_text('VALUE = 7\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(deferred.DEFERRED, 'deferred_package', None)
    deferred.install()
    try:
        from deferred_package import part
        assert part.VALUE == 7
        assert deferred.is_deferred('deferred_package')
        import deferred_package
        assert deferred_package.RAN is True  # the package's code, on use
    finally:
        for name in ('deferred_package', 'deferred_package.part'):
            sys.modules.pop(name, None)


def test_a_failing_module_fails_again_on_next_use(tmp_path, monkeypatch):
    (tmp_path / 'deferred_broken.py').write_text(
        'raise RuntimeError("broken on purpose")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(deferred.DEFERRED, 'deferred_broken', None)
    deferred.install()
    try:
        import deferred_broken
        for _ in range(2):
            with pytest.raises(RuntimeError, match='on purpose'):
                deferred_broken.anything
            assert deferred.is_deferred('deferred_broken')
    finally:
        sys.modules.pop('deferred_broken', None)
