"""The retired cinderlib 5.2.0's own functional suite, run unmodified on
this library.

Its ``test_basic.py`` and ``base_tests.py`` come from the sdist on PyPI
(``sdist.py``) and run in a process of their own (``bootstrap.py``) with
the configuration they read from the environment: a YAML file of
backends (``CL_FTEST_CFG``), the persistence plugin
(``CL_FTEST_MEMORY_PERSISTENCE``) and the command that runs ``dd`` and
``lsblk`` as root (``CL_FTEST_ROOT_HELPER``, ``root-helper`` here).  Each
run is one backend:

- ``file``: the library's file driver, with the suite's default ``memory``
  persistence; the backend-independent driver-listing tests run here;
- ``file-memory_db``: the same on the ``memory_db`` (SQLite) plugin, its
  backend given as a cinder.conf (which the suite converts with
  ``cinder_to_yaml``, given by ``bootstrap.py``);
- ``ceph``, ``ceph-memory_db``: Cinder's RBD driver on the throw-away
  cluster of ``tools/ceph-up.sh`` (or the one ``CINDERLIB_CEPH_*`` name),
  with either plugin.

Every collected test must pass, except those in ``DESELECTED`` for the
reason given there.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

import cinderlib
from cinderlib import connectors
from tests.compat.retired import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, '..', '..', '..', 'tools')
BOOTSTRAP = os.path.join(HERE, 'bootstrap.py')
ROOT_HELPER = os.path.join(HERE, 'root-helper')
CEPH_VARIABLES = ('CINDERLIB_CEPH_CONF', 'CINDERLIB_CEPH_KEYRING',
                  'CINDERLIB_CEPH_POOL', 'CINDERLIB_CEPH_USER')

# The suite's tests by their name before the backend is appended
# (``test_clone`` runs as ``test_clone_on_ceph``); ddt's names for the
# listing tests.
LISTING = ('test_list_supported_drivers_1___',
           'test_list_supported_drivers_2__1_',
           'test_list_supported_drivers_3__2_')
# Tests that treat ``vol.attach().path`` as a device path: os.path.exists,
# ``lsblk -o SIZE -b``, ``dd of=``.
DEVICE_PATH = ('test_create_volume', 'test_attach_volume',
               'test_attach_detach_volume_via_attachment', 'test_disk_io',
               'test_extend', 'test_extend_attached', 'test_clone',
               'test_create_volume_from_snapshot')
DESELECTED = {
    'listing-once': (
        LISTING,
        'backend-independent (list_supported_drivers in formats 1 and 2): '
        'run once, in the "file" run'),
    'no-kernel-rbd': (
        DEVICE_PATH,
        'needs the kernel RBD client (/sys/bus/rbd), absent here: without '
        'it an RBD attach is a librbd file object, not a /dev path '
        '(cinderlib.connectors.kernel_rbd_available)'),
}
RUNS = {
    'file': {'memory_persistence': True, 'config': 'yaml', 'deselect': ()},
    'file-memory_db': {'memory_persistence': False, 'config': 'conf',
                       'deselect': ('listing-once',)},
    'ceph': {'memory_persistence': True, 'config': 'yaml',
             'deselect': ('listing-once',)},
    'ceph-memory_db': {'memory_persistence': False, 'config': 'yaml',
                       'deselect': ('listing-once',)},
}


def _deselected(run, backend_name):
    """``{method name: reason}`` for one run."""
    found = {}
    groups = list(RUNS[run]['deselect'])
    if run.startswith('ceph') and not connectors.kernel_rbd_available():
        groups.append('no-kernel-rbd')
    for group in groups:
        names, reason = DESELECTED[group]
        for name in names:
            method = name if name in LISTING else f'{name}_on_{backend_name}'
            found[method] = reason
    return found


@pytest.fixture(scope='module')
def suite_dir():
    try:
        return sdist.suite_dir()
    except sdist.FetchError as exc:
        if os.environ.get('CI'):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope='module')
def ceph():
    """``CINDERLIB_CEPH_*`` of the cluster the suite runs on."""
    if all(name in os.environ for name in CEPH_VARIABLES):
        yield dict(os.environ)
        return
    work = tempfile.mkdtemp(prefix='cinderlib-retired-ceph-')
    started = subprocess.run(['bash', os.path.join(TOOLS, 'ceph-up.sh'),
                              work], capture_output=True, text=True,
                             timeout=600)
    try:
        if started.returncode:
            message = f'Ceph did not start: {started.stderr[-2000:]}'
            if os.environ.get('CI'):
                pytest.fail(message)
            pytest.skip(message)
        yield dict(line.split('=', 1) for line in started.stdout.splitlines()
                   if '=' in line)
    finally:
        subprocess.run(['bash', os.path.join(TOOLS, 'ceph-down.sh'), work],
                       timeout=120)
        shutil.rmtree(work, ignore_errors=True)


def _backend(run, request, work):
    if run.startswith('ceph'):
        values = request.getfixturevalue('ceph')
        return {'volume_backend_name': 'ceph',
                'volume_driver': 'cinder.volume.drivers.rbd.RBDDriver',
                'rbd_pool': values['CINDERLIB_CEPH_POOL'],
                'rbd_user': values['CINDERLIB_CEPH_USER'],
                'rbd_ceph_conf': values['CINDERLIB_CEPH_CONF'],
                'rbd_keyring_conf': values['CINDERLIB_CEPH_KEYRING']}, values
    return {'volume_backend_name': 'file',
            'volume_driver': 'cinderlib.drivers.file.FileVolumeDriver',
            'file_volumes_dir': str(work / 'volumes')}, {}


def _write_config(folder, kind, backend):
    """The suite's configuration file: YAML, or a cinder.conf."""
    if kind == 'yaml':
        path = folder / 'config.yaml'
        path.write_text(yaml.safe_dump({
            'logs': False, 'debug': False, 'backends': [backend]}))
        return path
    name = backend['volume_backend_name']
    path = folder / 'cinder.conf'
    path.write_text(f'[DEFAULT]\nenabled_backends = {name}\n\n[{name}]\n' +
                    ''.join(f'{key} = {value}\n'
                            for key, value in backend.items()))
    return path


def _environment(config_path, run, suite, values):
    env = dict(os.environ)
    # The cinderlib this process tests; ddt, the suite's one test library
    # this project does not use, from its wheel; the Ceph bindings if this
    # process found them late.
    paths = [os.path.dirname(os.path.dirname(cinderlib.__file__)),
             sdist.ddt_wheel(suite), values.get('CINDERLIB_CEPH_PYTHONPATH')]
    env['PYTHONPATH'] = os.pathsep.join(path for path in paths if path)
    env.update(CL_FTEST_CFG=str(config_path), CL_FTEST_ROOT_HELPER=ROOT_HELPER,
               CL_FTEST_MEMORY_PERSISTENCE=str(
                   RUNS[run]['memory_persistence']),
               CL_FTEST_LOGGING='false', CL_FTEST_DEBUG='false')
    return env


def _failures(results, deselected):
    lines = []
    for name, (outcome, details) in sorted(results['results'].items()):
        if outcome != 'passed':
            lines.append(f'{name} {outcome}:\n{details[-2500:]}')
    ran = set(results['collected']) - set(deselected)
    missing = ran - set(results['results'])
    if missing:
        lines.append(f'no outcome for {sorted(missing)}')
    return lines


@pytest.mark.skipif(os.geteuid() != 0,
                    reason='the suite runs dd and lsblk as root through '
                           'CL_FTEST_ROOT_HELPER, and loop devices')
@pytest.mark.parametrize('run', list(RUNS))
def test_retired_functional_suite_passes(run, request, suite_dir, tmp_path):
    backend, values = _backend(run, request, tmp_path)
    config_path = _write_config(tmp_path, RUNS[run]['config'], backend)
    deselected = _deselected(run, backend['volume_backend_name'])
    plan = tmp_path / 'plan.json'
    plan.write_text(json.dumps({'deselect': sorted(deselected)}))
    results_path = tmp_path / 'results.json'
    state, cwd = tmp_path / 'state', tmp_path / 'cwd'
    state.mkdir()
    cwd.mkdir()
    log = tmp_path / 'suite.log'
    started = time.monotonic()
    with open(log, 'w') as out:
        done = subprocess.run(
            [sys.executable, BOOTSTRAP, suite_dir, str(state), str(plan),
             str(results_path)],
            cwd=cwd, env=_environment(config_path, run, suite_dir, values),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            timeout=240)
    elapsed = time.monotonic() - started
    output = log.read_text()[-3000:]
    assert done.returncode == 0, output
    results = json.loads(results_path.read_text())
    assert results['cinderlib'] == cinderlib.__file__
    unknown = set(deselected) - set(results['collected'])
    assert not unknown, f'deselected tests the suite does not have: {unknown}'
    failures = _failures(results, deselected)
    if failures:
        pytest.fail(f'the retired suite on {run}: ' + '\n'.join(failures),
                    pytrace=False)
    passed = len(results['results'])
    print(f'retired suite on {run}: {passed} passed, {len(deselected)} '
          f'deselected, {elapsed:.1f} s')
    assert passed == len(results['collected']) - len(deselected) > 0
    # The library wrote nothing in the caller's working directory.
    assert os.listdir(cwd) == []
