"""A driver failing at each step of each operation, with the ``db`` plugin
on SQLite: the failure is recorded in the object's status and in the
database, the driver's exception is re-raised with ``.resource``, no record
is lost or left half-made, and the same call works once the driver does."""

import pytest

import cinderlib
from cinderlib.persistence import dbms

MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
CONNECTOR = {'host': 'node-1', 'initiator': 'iqn.1993-08.org.debian:01:ab',
             'ip': '192.0.2.10', 'multipath': False, 'platform': 'x86_64',
             'os_type': 'linux'}


class Boom(Exception):
    pass


@pytest.fixture
def setting(tmp_path):
    url = f'sqlite:///{tmp_path}/faults.sqlite'
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': url})
    backend = cinderlib.Backend('faulty', volume_driver=MEMORY_DRIVER,
                                memory_attach_dir=str(tmp_path))
    volume = backend.create_volume(1, name='source')
    snapshot = volume.create_snapshot()
    return backend, volume, snapshot, url


def stored(url):
    """What a fresh process would read: {id: status} of every record."""
    plugin = dbms.DBPersistence(url)
    try:
        return ({v.id: v.status for v in plugin.get_volumes()},
                {s.id: s.status for s in plugin.get_snapshots()},
                {c.id: c._ovo.attach_status
                 for c in plugin.get_connections()})
    finally:
        plugin.engine.dispose()


def fail_once(backend, method, call):
    """``call()`` with the driver's ``method`` failing: returns the
    exception raised."""
    backend.driver.fail_on[method] = Boom(method)
    try:
        with pytest.raises(Boom) as raised:
            call()
    finally:
        del backend.driver.fail_on[method]
    return raised.value


CREATIONS = {
    'create': ('create_volume',
               lambda b, v, s: b.create_volume(1, name='new')),
    'clone': ('create_cloned_volume', lambda b, v, s: v.clone(name='new')),
    'from snapshot': ('create_volume_from_snapshot',
                      lambda b, v, s: s.create_volume(name='new')),
}


@pytest.mark.parametrize('operation', sorted(CREATIONS))
def test_failed_volume_creation_is_recorded_and_retried(setting, operation):
    backend, volume, snapshot, url = setting
    method, call = CREATIONS[operation]
    error = fail_once(backend, method, lambda: call(backend, volume,
                                                    snapshot))
    new = error.resource
    assert new.status == 'error' and new.name == 'new'
    volumes, _, _ = stored(url)
    assert volumes == {volume.id: 'available', new.id: 'error'}
    new.create() if operation == 'create' else new._create(
        lambda driver: getattr(driver, method)(
            new._ovo, volume._ovo if operation == 'clone' else
            snapshot._ovo), volume if operation == 'clone' else snapshot)
    assert new.status == 'available'
    assert stored(url)[0][new.id] == 'available'
    assert new.name_in_storage in backend.driver.volumes


def test_failed_snapshot_is_recorded_and_retried(setting):
    backend, volume, snapshot, url = setting
    error = fail_once(backend, 'create_snapshot',
                      lambda: volume.create_snapshot(name='second'))
    second = error.resource
    assert second.status == 'error'
    assert stored(url)[1][second.id] == 'error'
    assert volume.status == 'available'  # a failed snapshot changes nothing
    second.create()
    assert stored(url)[1][second.id] == 'available'


def test_failed_extend_keeps_the_size_and_is_retried(setting):
    backend, volume, snapshot, url = setting
    error = fail_once(backend, 'extend_volume', lambda: volume.extend(3))
    assert error.resource is volume
    assert (volume.status, volume.size) == ('error', 1)
    assert stored(url)[0][volume.id] == 'error'
    volume.extend(3)
    assert (volume.size, stored(url)[0][volume.id]) == (3, 'available')
    assert backend.driver.volumes[volume.name_in_storage] == 3


@pytest.mark.parametrize('method', ['create_export',
                                    'initialize_connection'])
def test_failed_connect_leaves_no_record_and_is_retried(setting, method):
    backend, volume, snapshot, url = setting
    error = fail_once(backend, method,
                      lambda: volume.connect(CONNECTOR))
    assert error.resource is volume
    assert stored(url)[2] == {}
    assert volume.connections == [] and volume.status == 'available'
    assert backend.driver.exports == {}
    connection = volume.connect(CONNECTOR)
    assert stored(url)[2] == {connection.id: 'attached'}
    assert stored(url)[0][volume.id] == 'in-use'


def test_failed_disconnect_keeps_the_record_and_is_retried(setting):
    backend, volume, snapshot, url = setting
    connection = volume.connect(CONNECTOR)
    error = fail_once(backend, 'terminate_connection', connection.disconnect)
    assert error.resource is connection
    assert stored(url)[2] == {connection.id: 'error_detaching'}
    assert volume.status == 'in-use'
    connection.disconnect()
    assert stored(url)[2] == {}
    assert stored(url)[0][volume.id] == 'available'


@pytest.mark.parametrize('kind', ['volume', 'snapshot'])
def test_failed_delete_keeps_the_record_and_is_retried(setting, kind):
    backend, volume, snapshot, url = setting
    if kind == 'volume':
        snapshot.delete()
        target, method, index = volume, 'delete_volume', 0
    else:
        target, method, index = snapshot, 'delete_snapshot', 1
    error = fail_once(backend, method, target.delete)
    assert error.resource is target
    assert target.status == 'error_deleting'
    assert stored(url)[index] == {target.id: 'error_deleting'}
    target.delete()
    assert stored(url)[index] == {}
