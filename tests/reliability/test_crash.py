"""kill -9 of a process in the middle of operations (bench/crash.py), on
the file backend with the db plugin on SQLite and PostgreSQL: after
``Backend.recover()``, no file without a record, no ``available`` record
without its file, nothing left in a starting state, and everything can be
deleted."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'crash', os.path.join(ROOT, 'bench', 'crash.py'))
crash = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crash)

CLEAN = {'lost': 0, 'phantom': 0, 'stuck': 0}

# Driver call to die in -> what recover() reports: (resource, was, now).
CRASHES = {
    'create_volume': ('volume', 'creating', 'error'),
    'create_volume:after': ('volume', 'creating', 'error'),
    'create_cloned_volume:after': ('volume', 'creating', 'error'),
    'create_snapshot:after': ('snapshot', 'creating', 'error'),
    'create_volume_from_snapshot': ('volume', 'creating', 'error'),
    'extend_volume:after': ('volume', 'extending', 'error'),
    'initialize_connection:after': ('connection', 'attaching', 'deleted'),
    'terminate_connection': ('connection', 'detached', 'deleted'),
    'delete_snapshot:after': ('snapshot', 'deleting', 'deleted'),
    'delete_volume:after': ('volume', 'deleting', 'deleted'),
}


def audit_is_clean(audit):
    return {name: audit[name] for name in CLEAN} == CLEAN


@pytest.mark.parametrize('crash_in', sorted(CRASHES))
def test_crash_inside_each_driver_call_is_recovered(tmp_path, crash_in):
    url = f'sqlite:///{tmp_path}/crash.sqlite'
    result = crash.crash_at(crash_in, str(tmp_path), url)
    resource, was, now = CRASHES[crash_in]
    assert [(e['resource'], e['was'], e['now'])
            for e in result['report']] == [(resource, was, now)]
    assert audit_is_clean(result['audit']), result['audit']
    # What recovery left in 'error' is deleted like anything else.
    backend = crash.open_backend(str(tmp_path), url)
    for volume in backend.volumes:
        crash.delete_everything(volume)
    assert os.listdir(tmp_path / 'volumes') == []


@pytest.mark.parametrize('kind', ['sqlite', 'postgresql'])
def test_repeated_kills_lose_nothing(tmp_path, request, kind):
    url = (f'sqlite:///{tmp_path}/crash.sqlite' if kind == 'sqlite' else
           request.getfixturevalue('postgresql_url'))
    if kind == 'postgresql':
        url = request.getfixturevalue('empty_database')('postgresql')
    figures = crash.run(kills=6, url=url, state=str(tmp_path), seed=3)
    assert figures['errors'] == []
    assert figures['kills'] == 6 and figures['operations'] > 0
    assert audit_is_clean(figures), figures
    assert figures['left after deleting all'] == 0
