"""What every backend must do, checked with real data.

Runs once per backend of the YAML configuration (see conftest.py).
"""

import json

import pytest

import cinderlib
from tests.functional.device_io import BLOCK, GiB, pattern, read, write

REMOTE = {'host': 'remote-node', 'initiator': 'iqn.2004-10.test:remote',
          'ip': '192.0.2.20', 'multipath': False, 'platform': 'x86_64',
          'os_type': 'linux', 'do_local_attach': False}


@pytest.fixture
def volume(backend):
    volume = backend.create_volume(1, name='functional')
    yield volume
    volume.cleanup()
    for snapshot in list(volume.snapshots):
        snapshot.delete()
    volume.delete()


def attached_write(volume, offsets_and_labels):
    connection = volume.attach()
    try:
        for offset, label in offsets_and_labels:
            write(connection, offset, pattern(label))
    finally:
        volume.detach()


def attached_read(volume, offsets):
    connection = volume.attach()
    try:
        return [read(connection, offset) for offset in offsets]
    finally:
        volume.detach()


def test_stats(backend):
    stats = backend.stats(refresh=True)
    assert stats['pools']
    for pool in stats['pools']:
        total, free = pool['total_capacity_gb'], pool['free_capacity_gb']
        if total not in ('unknown', 'infinite'):
            assert total > 0 and 0 <= free <= total
    assert backend.pool_names


def test_create_and_delete_twice(backend):
    volume = backend.create_volume(1)
    assert volume.status == 'available'
    assert volume in backend.volumes
    volume.delete()
    volume.delete()
    assert volume.status == 'deleted'
    assert volume not in backend.volumes


def test_attach_write_read_detach(volume):
    attached_write(volume, [(0, 'start'), (GiB - BLOCK, 'end')])
    assert attached_read(volume, [0, GiB - BLOCK]) == [
        pattern('start'), pattern('end')]
    assert volume.status == 'available'
    assert volume.connections == []


def test_extend_detached(volume):
    attached_write(volume, [(0, 'kept')])
    assert volume.extend(2) == 2 * GiB
    attached_write(volume, [(2 * GiB - BLOCK, 'new-end')])
    assert attached_read(volume, [0, 2 * GiB - BLOCK]) == [
        pattern('kept'), pattern('new-end')]


def test_extend_attached(volume):
    connection = volume.attach()
    try:
        write(connection, 0, pattern('kept'))
        assert volume.extend(2) == 2 * GiB
        write(connection, 2 * GiB - BLOCK, pattern('new-end'))
        assert read(connection, 0) == pattern('kept')
        assert read(connection, 2 * GiB - BLOCK) == pattern('new-end')
    finally:
        volume.detach()


def test_clone_has_the_data(volume):
    attached_write(volume, [(0, 'source'), (GiB - BLOCK, 'source-end')])
    clone = volume.clone(size=2)
    try:
        assert clone.size == 2
        assert attached_read(clone, [0, GiB - BLOCK]) == [
            pattern('source'), pattern('source-end')]
    finally:
        clone.delete()


def test_volume_from_snapshot_ignores_later_writes(volume):
    attached_write(volume, [(0, 'before')])
    snapshot = volume.create_snapshot()
    attached_write(volume, [(0, 'after')])
    restored = snapshot.create_volume(size=2)
    try:
        assert attached_read(restored, [0]) == [pattern('before')]
        assert attached_read(volume, [0]) == [pattern('after')]
    finally:
        restored.delete()
        snapshot.delete()


def test_connect_for_a_remote_host_and_disconnect(volume):
    connection = volume.connect(REMOTE)
    assert volume.status == 'in-use'
    assert connection.protocol
    assert connection.conn_info['data']
    assert json.loads(json.dumps(connection.connection_info))
    connection.disconnect()
    assert volume.status == 'available'


def test_state_reloads_from_json(backend, volume):
    snapshot = volume.create_snapshot()
    saved = volume.dumps
    cinderlib.Backend.set_persistence({'storage': 'memory'})
    loaded = cinderlib.load(saved, save=True)
    assert loaded.id == volume.id
    assert [s.id for s in loaded.snapshots] == [snapshot.id]
    loaded.snapshots[0].delete()
    loaded.delete()
    volume._ovo.deleted = True  # gone: the fixture must not delete it again
