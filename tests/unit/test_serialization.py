"""Serialization: json/jsons/dump/dumps and load."""

import json

import pytest

import cinderlib
from cinderlib import exception


@pytest.fixture
def populated(volume, connector):
    snapshot = volume.create_snapshot(name='snap')
    connection = volume.connect(connector)
    return volume, snapshot, connection


def reload_memory():
    """Forget every object, as a new process with memory persistence."""
    cinderlib.Backend.set_persistence({'storage': 'memory'})


def test_volume_format(populated):
    volume, snapshot, connection = populated
    data = volume.json
    assert data['class'] == 'Volume'
    assert data['backend'] == {'volume_backend_name': 'memory'}
    ovo = data['ovo']
    assert ovo['versioned_object.name'] == 'Volume'
    fields = ovo['versioned_object.data']
    assert fields['id'] == volume.id
    snapshots = fields['snapshots']['versioned_object.data']['objects']
    assert [s['versioned_object.data']['id'] for s in snapshots] == [
        snapshot.id]
    assert 'volume' not in snapshots[0]['versioned_object.data']
    assert json.loads(volume.jsons) == data


def test_simplified_leaves_out_back_references(populated):
    volume, snapshot, connection = populated
    fields = volume.to_json(simplified=True)['ovo']['versioned_object.data']
    assert 'snapshots' not in fields
    assert 'volume_attachment' not in fields
    snap_fields = snapshot.to_json(simplified=True)['ovo'][
        'versioned_object.data']
    assert 'volume' not in snap_fields
    assert 'volume' in snapshot.json['ovo']['versioned_object.data']


def test_datetimes_keep_microseconds(volume):
    created = volume.created_at
    assert created.microsecond
    reload_memory()
    loaded = cinderlib.load(volume.jsons)
    assert loaded.created_at == created


def test_volume_round_trip_with_snapshots_and_connections(populated):
    volume, snapshot, connection = populated
    text = volume.dumps
    reload_memory()
    loaded = cinderlib.load(text, save=True)
    assert isinstance(loaded, cinderlib.Volume)
    assert loaded.id == volume.id
    assert loaded.backend is volume.backend
    assert loaded.status == 'in-use'
    assert loaded.volume_type.extra_specs == {}
    assert [s.id for s in loaded.snapshots] == [snapshot.id]
    assert loaded.snapshots[0].volume is loaded
    assert [c.id for c in loaded.connections] == [connection.id]
    assert loaded.connections[0].conn_info == connection.conn_info
    assert cinderlib.Volume.get_by_id(volume.id) is loaded
    assert cinderlib.Snapshot.get_by_id(snapshot.id).volume_id == volume.id
    loaded.connections[0].disconnect()
    loaded.snapshots[0].delete()
    loaded.delete()
    assert loaded.backend.driver.volumes == {}


def test_snapshot_and_connection_round_trip(populated):
    volume, snapshot, connection = populated
    snap_text, conn_text = snapshot.jsons, connection.jsons
    reload_memory()
    snap = cinderlib.load(snap_text)
    conn = cinderlib.load(conn_text)
    assert isinstance(snap, cinderlib.Snapshot)
    assert snap.volume.id == volume.id
    assert isinstance(conn, cinderlib.Connection)
    assert conn.connection_info == connection.connection_info
    assert conn.volume.id == volume.id


def test_load_without_save_does_not_touch_persistence(volume):
    text = volume.jsons
    reload_memory()
    cinderlib.load(text)
    assert cinderlib.Backend.persistence.get_volumes() == []


def test_backend_and_module_dumps(populated, backend):
    volume, snapshot, connection = populated
    data = backend.dump
    assert data['class'] == 'Backend'
    assert [v['ovo']['versioned_object.data']['id']
            for v in data['volumes']] == [volume.id]
    assert json.loads(cinderlib.dumps()) == [data]
    assert cinderlib.json() == [backend.json]
    assert json.loads(cinderlib.jsons()) == cinderlib.json()
    reload_memory()
    assert cinderlib.load(cinderlib.jsons()) == [backend]
    assert backend.volumes == []
    cinderlib.load(json.dumps(data), save=True)
    assert [v.id for v in backend.volumes] == [volume.id]


def test_load_list_and_dict(volume):
    data = volume.json
    assert cinderlib.load([data, data])[0].id == volume.id
    assert cinderlib.load(data).id == volume.id


@pytest.mark.parametrize('junk', [
    '', 'not json', '42', '"text"', None, 3, {}, {'class': 'Nope'},
    {'class': 'Volume'}, {'class': 'Volume', 'backend': {}, 'ovo': {}},
    {'class': 'Volume', 'backend': {'volume_backend_name': 'memory'},
     'ovo': {'versioned_object.name': 'Volume'}},
    {'class': 'Volume', 'backend': {'volume_backend_name': 'memory'},
     'ovo': {'versioned_object.name': 'Volume',
             'versioned_object.namespace': 'cinder',
             'versioned_object.version': '1.9',
             'versioned_object.data': {'size': 'huge'}}},
    {'class': 'Backend', 'backend': {'volume_backend_name': 'memory'}},
])
def test_load_of_junk_raises_a_clear_error(backend, junk):
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(junk, save=True)
    assert cinderlib.Backend.persistence.get_volumes() == []


def test_snapshot_json_loaded_as_volume_is_refused(volume):
    data = volume.create_snapshot().json
    data['class'] = 'Volume'
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(data)


def test_missing_backend_raises_by_default(volume):
    text = volume.jsons
    volume.backend.unload()
    with pytest.raises(exception.BackendNotLoaded) as error:
        cinderlib.load(text)
    assert 'memory' in str(error.value)


def test_missing_backend_keeps_the_name_when_allowed(volume, tmp_path):
    text = volume.jsons
    volume.backend.unload()
    cinderlib.setup(fail_on_missing_backend=False, state_path=str(tmp_path))
    loaded = cinderlib.load(text)
    assert loaded.backend.id == 'memory'
    assert loaded.backend_name == 'memory'
    assert loaded.size == 1
    with pytest.raises(exception.BackendNotLoaded):
        loaded.backend.driver


def test_simplified_volume_loads_children_from_persistence(populated):
    volume, snapshot, connection = populated
    loaded = cinderlib.load(volume.to_json(simplified=True))
    assert [s.id for s in loaded.snapshots] == [snapshot.id]
    assert [c.id for c in loaded.connections] == [connection.id]
