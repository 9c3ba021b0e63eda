"""Fixtures shared by every test: a clean library state per test, the
in-memory test driver, and a Redis server for locks across hosts."""

import os
import shutil
import subprocess
import tempfile

import pytest

import cinderlib

MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'


@pytest.fixture(autouse=True)
def clean_library(tmp_path, monkeypatch):
    """Set the library up afresh, and unload every backend afterwards."""
    monkeypatch.chdir(tmp_path)
    cinderlib.setup(state_path=str(tmp_path))
    yield
    for backend in list(cinderlib.Backend.backends.values()):
        backend.unload()
    cinderlib.Backend._options = None


@pytest.fixture
def backend(tmp_path):
    """A backend running the in-memory test driver."""
    return cinderlib.Backend('memory', volume_driver=MEMORY_DRIVER,
                             memory_attach_dir=str(tmp_path))


@pytest.fixture
def driver(backend):
    return backend.driver


@pytest.fixture
def volume(backend):
    return backend.create_volume(1, name='disk')


@pytest.fixture
def connector():
    return {'host': 'node-1', 'initiator': 'iqn.1993-08.org.debian:01:abc',
            'ip': '192.0.2.10', 'multipath': False, 'platform': 'x86_64',
            'os_type': 'linux'}


@pytest.fixture(scope='session')
def redis_url():
    """A Redis server on 127.0.0.1 (tools/redis-server.sh), or the URL in
    CINDERLIB_TEST_REDIS_URL.  Fails under CI when it cannot start,
    skips elsewhere."""
    url = os.environ.get('CINDERLIB_TEST_REDIS_URL')
    if url:
        yield url
        return
    script = os.path.join(os.path.dirname(__file__), '..', 'tools',
                          'redis-server.sh')
    work = tempfile.mkdtemp(prefix='cinderlib-redis-')
    started = subprocess.run(['bash', script, 'start', work],
                             capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        reason = f'Redis did not start: {started.stderr.strip()[-1500:]}'
        shutil.rmtree(work, ignore_errors=True)
        if os.environ.get('CI'):
            pytest.fail(reason)
        pytest.skip(reason)
    yield started.stdout.strip().partition('=')[2]
    subprocess.run(['bash', script, 'stop', work], timeout=60)
    shutil.rmtree(work, ignore_errors=True)
