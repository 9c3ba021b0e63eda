"""Fixtures shared by every test: a clean library state per test."""

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
