"""kill -9 of a process in the middle of adopting a file (the file driver,
the db plugin on SQLite): ``recover()`` leaves the volume
``error_managing``; releasing it keeps the file and its bytes, which can
be adopted again."""

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'crash', os.path.join(ROOT, 'bench', 'crash.py'))
crash = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crash)

WORKER = textwrap.dedent('''
    import sys
    sys.path.insert(0, {bench!r})
    import crash
    backend = crash.open_backend({state!r}, {url!r})
    crash.arm_crash(backend.driver, {crash_in!r})
    backend.manage_existing({{'source-name': 'outside.img'}}, name='adopted')
''')


@pytest.mark.parametrize('crash_in', ['manage_existing',
                                      'manage_existing:after'])
def test_crash_while_adopting_is_recovered(tmp_path, crash_in):
    state = str(tmp_path)
    url = f'sqlite:///{tmp_path}/crash.sqlite'
    backend = crash.open_backend(state, url)
    directory = backend.driver.directory
    with open(os.path.join(directory, 'outside.img'), 'wb') as image:
        image.write(b'precious')
    worker = subprocess.run(
        [sys.executable, '-c', WORKER.format(
            bench=os.path.join(ROOT, 'bench'), state=state, url=url,
            crash_in=crash_in)],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert worker.returncode == -signal.SIGKILL, worker.stderr[-2000:]

    [volume] = backend.volumes
    assert volume.status == 'managing'
    assert backend.recover() == [{'resource': 'volume', 'id': volume.id,
                                  'was': 'managing',
                                  'now': 'error_managing'}]
    [volume] = backend.volumes
    volume.unmanage()
    assert backend.volumes == []
    [name] = os.listdir(directory)
    assert name == ('outside.img' if crash_in == 'manage_existing'
                    else volume.name_in_storage)
    with open(os.path.join(directory, name), 'rb') as image:
        assert image.read(8) == b'precious'
    again = backend.manage_existing({'source-name': name})
    assert again.status == 'available'
