"""The memory plugin's contract: filters, upserts, deletions, key-values."""

import cinderlib


def plugin():
    return cinderlib.Backend.persistence


def test_filters_and_together(backend):
    a = backend.create_volume(1, name='a')
    backend.create_volume(1, name='b')
    assert plugin().get_volumes(volume_id=a.id, volume_name='a') == [a]
    assert plugin().get_volumes(volume_id=a.id, volume_name='b') == []
    assert plugin().get_volumes(volume_name='a', backend_name='other') == []
    assert plugin().get_volumes(volume_id='missing') == []
    assert len(plugin().get_volumes(backend_name='memory')) == 2


def test_snapshot_and_connection_filters(volume, connector):
    snapshot = volume.create_snapshot(name='s')
    connection = volume.connect(connector)
    assert plugin().get_snapshots(volume_id=volume.id) == [snapshot]
    assert plugin().get_snapshots(snapshot_name='s',
                                  volume_id='other') == []
    assert plugin().get_connections(volume_id=volume.id) == [connection]
    assert plugin().get_connections(connection_id=connection.id,
                                    volume_id='other') == []


def test_key_values_upsert_and_delete():
    kv = cinderlib.KeyValue('node-1', '{"host": "node-1"}')
    plugin().set_key_value(kv)
    plugin().set_key_value(cinderlib.KeyValue('node-1', '{"v": 2}'))
    plugin().set_key_value(cinderlib.KeyValue('node-2', 'x'))
    assert plugin().get_key_values('node-1') == [
        cinderlib.KeyValue('node-1', '{"v": 2}')]
    assert len(plugin().get_key_values()) == 2
    plugin().delete_key_value(kv)
    assert plugin().get_key_values('node-1') == []
    assert plugin().get_key_values('missing') == []


def test_base_class_side_effects(volume):
    volume._ovo.provider_id = 'x'
    assert plugin().get_changed_fields(volume) == {'provider_id': 'x'}
    plugin().set_volume(volume)
    assert plugin().get_changed_fields(volume) == {}
    plugin().delete_volume(volume)
    assert volume.deleted
    assert volume.status == 'deleted'
    assert volume.deleted_at is not None
