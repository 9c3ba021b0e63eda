"""The memory plugin's contract: filters, upserts, deletions, key-values."""

import pytest

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


def test_get_by_name_is_a_lookup_by_the_stored_name(backend, monkeypatch):
    volumes = [backend.create_volume(1, name=f'v{n}') for n in range(50)]
    twin = backend.create_volume(1, name='v7')
    reads = []
    original = cinderlib.Volume.name
    monkeypatch.setattr(cinderlib.Volume, 'name', property(
        lambda volume: reads.append(volume.id) or original.fget(volume),
        original.fset))
    assert cinderlib.Volume.get_by_name('v7') == [volumes[7], twin]
    assert reads == []  # no volume's name read: an index, not a scan
    monkeypatch.undo()

    volumes[7].name = 'renamed'
    assert cinderlib.Volume.get_by_name('renamed') == []  # not saved yet
    volumes[7].save()
    assert cinderlib.Volume.get_by_name('renamed') == [volumes[7]]
    assert cinderlib.Volume.get_by_name('v7') == [twin]
    assert plugin().get_volumes(volume_id=twin.id, volume_name='v7') == [
        twin]
    assert plugin().get_volumes(volume_id=twin.id,
                                volume_name='renamed') == []
    twin.delete()
    assert cinderlib.Volume.get_by_name('v7') == []
    assert len(cinderlib.Volume.get_by_name('v8')) == 1


def test_failed_set_objects_restores_the_name_index(backend):
    kept = backend.create_volume(1, name='kept')
    kept.name = 'changed'
    with pytest.raises(TypeError):
        plugin().set_objects([kept, object()])
    kept.name = 'kept'
    assert cinderlib.Volume.get_by_name('kept') == [kept]
    assert cinderlib.Volume.get_by_name('changed') == []


def test_volumes_share_their_attribute_names(backend):
    """Each Cinder object's ``__dict__`` keeps its keys: the attribute
    names are one string per field for all objects, not one per object
    (they were 1.35 KB of each volume's 7 KB)."""
    first, second = backend.create_volume(1), backend.create_volume(1)
    names = {}
    for volume in (first, second):
        for key in vars(volume._ovo):
            if key.startswith('_obj_'):
                names.setdefault(key, []).append(key)
    assert len(names) > 20
    assert all(len(keys) == 2 and keys[0] is keys[1]
               for keys in names.values())
