"""Serialization: json/jsons/dump/dumps and load."""

import json

import pytest

import cinderlib
from cinderlib import exception
from cinderlib.persistence import base
from cinderlib.persistence import memory


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


# -- regressions found by fuzzing (tests/unit/test_fuzz_load.py) ------------
def fields_of(data):
    """The fields of a serialized object, or of a nested primitive."""
    return data.get('ovo', data)['versioned_object.data']


@pytest.mark.parametrize('name', [[], {}, ['Volume']])
def test_unhashable_class_is_invalid_data(name):
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load({'class': name})


@pytest.mark.parametrize('storage', ['memory', 'memory_db'])
def test_failed_load_of_a_list_stores_nothing(populated, storage):
    volume, snapshot, connection = populated
    good = json.loads(volume.dumps)
    other = volume.backend.create_volume(1).json
    fields_of(other)['size'] = 'big'
    cinderlib.Backend.set_persistence({'storage': storage})
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load([good, other], save=True)
    plugin = cinderlib.Backend.persistence
    assert (plugin.get_volumes(), plugin.get_snapshots(),
            plugin.get_connections()) == ([], [], [])


def test_bad_child_of_a_volume_stores_nothing(populated):
    volume, snapshot, connection = populated
    data = json.loads(volume.dumps)
    attachments = fields_of(data)['volume_attachment']
    fields_of(attachments['versioned_object.data']['objects'][0])[
        'volume_id'] = 'b5c1e3a6-7b0e-4bd1-a2d4-1b0c6a39c1f5'
    reload_memory()
    with pytest.raises(exception.InvalidSerializedData) as error:
        cinderlib.load(data, save=True)
    assert 'belongs to volume' in str(error.value)
    assert cinderlib.Backend.persistence.get_volumes() == []


class FailingStore(memory.MemoryPersistence):
    """A plugin without its own set_objects, whose second snapshot write
    fails."""

    set_objects = base.PersistenceDriverBase.set_objects

    def __init__(self):
        super().__init__()
        self.writes = 0

    def set_snapshot(self, snapshot):
        self.writes += 1
        if self.writes == 2:
            raise IOError('store down')
        super().set_snapshot(snapshot)


def test_plugins_undo_the_writes_of_a_failed_load(populated):
    volume, snapshot, connection = populated
    second = volume.create_snapshot(name='second')
    kept = cinderlib.Backend.persistence.get_volumes(volume_id=volume.id)[0]
    text = volume.dumps
    store = FailingStore()
    store.set_volume(kept)
    cinderlib.Backend.set_persistence({'storage': store})
    with pytest.raises(IOError):
        cinderlib.load(text, save=True)
    assert store.get_volumes() == [kept]
    assert store.get_volumes()[0] is kept
    assert store.get_snapshots() == []
    assert second.id not in store.snapshots


def test_ids_must_be_strings(volume):
    data = volume.json
    fields_of(data)['id'] = []
    with pytest.raises(exception.InvalidSerializedData) as error:
        cinderlib.load(data)
    assert 'id: must be a string' in str(error.value)


@pytest.mark.parametrize('field, value', [
    ('size', float('inf')), ('size', '1'), ('size', 0), ('size', None),
    ('host', None), ('status', None), ('status', 'x' * 37),
    ('display_name', 'x' * 256), ('display_name', '\ud800'),
    ('metadata', None), ('metadata', {'k': 1}), ('created_at', 'today'),
    ('created_at', '0001-01-01T00:00:00+05:00'), ('id', 'a/b'),
    ('attach_status', 'glued'), ('volume_type_id', None),
])
def test_volume_fields_are_checked(volume, field, value):
    data = volume.json
    fields_of(data)[field] = value
    with pytest.raises(exception.InvalidSerializedData) as error:
        cinderlib.load(json.dumps(data), save=True)
    assert field in str(error.value)
    assert cinderlib.Backend.persistence.get_volumes() == [volume]


def test_volume_without_its_type_is_refused(volume):
    """It used to load, and reading its type recursed endlessly."""
    data = volume.json
    del fields_of(data)['volume_type']
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(data)
    fields_of(data)['volume_type_id'] = None  # no type: one of its own
    assert cinderlib.load(data).volume_type.id == volume.id


def test_volume_type_of_another_id_is_refused(volume):
    data = volume.json
    fields_of(data)['id'] = 'a2b7a2e5-54ac-4b47-9d0b-1e6e87c63f5c'
    with pytest.raises(exception.InvalidSerializedData) as error:
        cinderlib.load(data, save=True)
    assert 'volume_type' in str(error.value)


def test_nested_objects_need_their_ids(volume):
    data = volume.json
    del fields_of(fields_of(data)['volume_type'])['id']
    with pytest.raises(exception.InvalidSerializedData) as error:
        cinderlib.load(data, save=True)
    assert 'volume_type: has no id' in str(error.value)


def test_children_left_incomplete_are_completed_or_refused(populated):
    volume, snapshot, connection = populated
    data = snapshot.to_json(simplified=True)
    del fields_of(data)['provider_location']
    assert cinderlib.load(data).provider_location is None
    del fields_of(data)['status']
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(data)
    data = connection.to_json(simplified=True)
    fields_of(data)['connection_info']['conn'] = 'text'
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(data)


@pytest.mark.parametrize('junk', [
    '[' * 100000, '{"a":' * 100000, b'\xff\xfe', 'NaN', '1' * 5000])
def test_unreadable_text_is_invalid_data(junk):
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(junk)


def test_python_data_is_copied_through_json(volume):
    data = volume.json
    cycle = {}
    cycle['self'] = cycle
    fields_of(data)['metadata'] = cycle
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(data)
    data = volume.json
    fields_of(data)['metadata'] = {'set': {1, 2}}
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(data)
    data = volume.json
    loaded = cinderlib.load(data)
    fields_of(data)['metadata']['later'] = 'change'
    assert 'later' not in loaded.metadata


def test_json_is_a_copy_of_the_object(volume, connector):
    data = volume.json
    fields_of(data)['metadata']['x'] = {'not': 'a string'}
    assert 'x' not in volume.metadata
    connection = volume.connect(connector)
    connection.json['ovo']['versioned_object.data']['connection_info'][
        'conn']['data']['changed'] = True
    assert 'changed' not in connection.conn_info['data']


def test_unknown_envelope_keys_are_refused(volume):
    data = volume.json
    data['ovo']['extra'] = 1
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(data)


def test_backend_dump_holds_only_its_volumes(volume, backend):
    data = backend.dump
    data['backend'] = {'volume_backend_name': 'other'}
    cinderlib.Backend('other',
                      volume_driver='tests.memory_driver.MemoryVolumeDriver')
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(data)


@pytest.mark.parametrize('name', ['', 'a#b', 'x' * 256, 'a\x00b',
                                  'DEFAULT'])
def test_bad_backend_names_are_invalid_data(volume, tmp_path, name):
    cinderlib.setup(fail_on_missing_backend=False, state_path=str(tmp_path))
    data = volume.json
    data['backend'] = {'volume_backend_name': name}
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(data)


def test_property_errors_are_not_masked(populated):
    volume, snapshot, connection = populated
    connection._ovo.connection_info = {'conn': 'not a dict'}
    with pytest.raises(AttributeError) as error:
        connection.protocol
    assert "'str' object has no attribute 'get'" in str(error.value)


# -- fields that become storage names (issue 11) ------------------------------
@pytest.mark.parametrize('name_id', [
    '../../../etc/passwd', 'a/b', '..', '.', '', 'a\\b', 'a\nb', 'x' * 256,
    7])
def test_name_id_that_is_no_storage_name_is_refused(volume, name_id):
    data = volume.json
    fields_of(data)['_name_id'] = name_id
    reload_memory()
    with pytest.raises(exception.InvalidSerializedData) as error:
        cinderlib.load(json.dumps(data), save=True)
    assert '_name_id' in str(error.value)
    assert cinderlib.Backend.persistence.get_volumes() == []
    snapshot = volume.create_snapshot()
    data = snapshot.json
    fields_of(fields_of(data)['volume'])['_name_id'] = name_id
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.load(data)


def test_name_id_of_a_plain_name_loads(volume):
    data = volume.json
    other = '9d3fb2d4-5e4b-4d43-9d55-51f7b7ae7b67'
    fields_of(data)['_name_id'] = other
    reload_memory()
    loaded = cinderlib.load(data)
    assert loaded.name_in_storage == f'volume-{other}'


def edit_row(plugin, table, object_id, edit):
    """Change the JSON data of a stored row, as a hand edit would."""
    with plugin.engine.begin() as conn:
        row = conn.execute(table.select().where(
            table.c.id == object_id)).one()
        data = json.loads(row.data)
        edit(data['versioned_object.data'])
        conn.execute(table.update().where(table.c.id == object_id).values(
            data=json.dumps(data)))


def test_stored_name_id_that_is_no_storage_name_is_refused(tmp_path):
    from cinderlib.persistence import schema
    cinderlib.setup(state_path=str(tmp_path),
                    persistence_config={'storage': 'memory_db'})
    backend = cinderlib.Backend(
        'memory', volume_driver='tests.memory_driver.MemoryVolumeDriver')
    volume = backend.create_volume(1)
    plugin = cinderlib.Backend.persistence
    edit_row(plugin, schema.volumes, volume.id,
             lambda data: data.update(_name_id='../../../etc/passwd'))
    plugin._live = {kind: {} for kind in plugin._live}  # another process
    with pytest.raises(exception.InvalidStoredData) as error:
        plugin.get_volumes(volume_id=volume.id)[0].name_in_storage
    assert error.value.object_id == volume.id
    assert '_name_id' in str(error.value)


# -- nesting (issue 11) -------------------------------------------------------
def nested(depth):
    """A dict nesting ``depth`` levels."""
    value = {}
    for _ in range(depth - 1):
        value = {'a': value}
    return value


def deep_connection(connection, depth):
    """The connection's JSON whose connection_info nests ``depth``
    levels."""
    data = connection.json
    fields_of(data)['connection_info']['conn']['data']['x'] = nested(
        depth - 3)
    return data


@pytest.mark.parametrize('storage', ['memory', 'memory_db'])
@pytest.mark.parametrize('depth', [33, 300, 900, 5000])
@pytest.mark.parametrize('form', ['dict', 'text'])
def test_deeply_nested_connection_info_is_invalid_data(
        populated, storage, depth, form, tmp_path):
    volume, snapshot, connection = populated
    data = deep_connection(connection, depth)
    volume_data = volume.json
    fields_of(fields_of(fields_of(volume_data)['volume_attachment'])[
        'objects'][0])['connection_info'] = fields_of(data)['connection_info']
    cinderlib.setup(state_path=str(tmp_path),
                    persistence_config={'storage': storage})
    for value in (data, volume_data, [[volume_data]]):
        if form == 'text':
            try:
                value = json.dumps(value)
            except RecursionError:  # Python's own limit: no JSON text
                continue
        for save in (False, True):
            with pytest.raises(exception.InvalidSerializedData) as error:
                cinderlib.load(value, save=save)
            assert 'nest' in str(error.value)
    plugin = cinderlib.Backend.persistence
    assert (plugin.get_volumes(), plugin.get_connections()) == ([], [])


@pytest.mark.parametrize('storage', ['memory', 'memory_db'])
def test_connection_info_nesting_to_the_limit_round_trips(
        populated, storage, tmp_path):
    from cinderlib import validation
    volume, snapshot, connection = populated
    data = deep_connection(connection, validation.MAX_NESTING)
    cinderlib.setup(state_path=str(tmp_path),
                    persistence_config={'storage': storage})
    loaded = cinderlib.load(data, save=True)
    text = loaded.jsons
    assert cinderlib.load(text).jsons == text
    assert cinderlib.dumps()
    stored = cinderlib.Backend.persistence.get_connections(
        connection_id=connection.id)[0]
    assert stored.connection_info == loaded.connection_info


def test_deep_backend_configuration_is_invalid_data(volume, tmp_path):
    cinderlib.setup(fail_on_missing_backend=False, state_path=str(tmp_path))
    data = volume.json
    data['backend'] = {'volume_backend_name': 'elsewhere', 'x': nested(900)}
    for save in (False, True):
        with pytest.raises(exception.InvalidSerializedData) as error:
            cinderlib.load(data, save=save)
        assert 'backend' in str(error.value)


def test_deep_values_in_ignored_keys_are_dropped(volume):
    data = volume.json
    data['extra'] = nested(900)
    fields_of(data)['not_a_field'] = nested(900)
    loaded = cinderlib.load(json.dumps(data))
    assert 'not_a_field' not in loaded.jsons
    assert cinderlib.dumps()


def test_deep_stored_connection_info_is_invalid_stored_data(
        tmp_path, connector):
    from cinderlib.persistence import schema
    cinderlib.setup(state_path=str(tmp_path),
                    persistence_config={'storage': 'memory_db'})
    backend = cinderlib.Backend(
        'memory', volume_driver='tests.memory_driver.MemoryVolumeDriver',
        memory_attach_dir=str(tmp_path))
    connection = backend.create_volume(1).connect(connector)
    plugin = cinderlib.Backend.persistence
    edit_row(plugin, schema.connections, connection.id,
             lambda data: data['connection_info'].update(x=nested(900)))
    plugin._live = {kind: {} for kind in plugin._live}  # another process
    found = plugin.get_connections(connection_id=connection.id)[0]
    for use in (lambda: found.connection_info, lambda: found.jsons):
        with pytest.raises(exception.InvalidStoredData) as error:
            use()
        assert error.value.object_id == connection.id
        assert 'nests more than' in str(error.value)


@pytest.mark.parametrize('storage', ['memory', 'memory_db'])
def test_a_driver_result_too_deep_to_serialize_is_refused(
        storage, tmp_path, connector):
    """What a driver returns ends up in the object: one nesting too deep
    to serialize and load back is refused with a clear error, not a
    RecursionError."""
    cinderlib.setup(state_path=str(tmp_path),
                    persistence_config={'storage': storage})
    backend = cinderlib.Backend(
        'memory', volume_driver='tests.memory_driver.MemoryVolumeDriver',
        memory_attach_dir=str(tmp_path))
    volume = backend.create_volume(1)
    real = backend.driver.initialize_connection

    def deep_result(volume_ovo, connector_dict):
        result = real(volume_ovo, connector_dict)
        result['data']['x'] = nested(2000)
        return result

    backend.driver.initialize_connection = deep_result
    if storage == 'memory':
        connection = volume.connect(connector)
        for serialize in (lambda: connection.jsons, lambda: volume.dumps,
                          cinderlib.dumps):
            with pytest.raises(exception.InvalidArgument) as error:
                serialize()
            assert 'connection_info: nests more than' in str(error.value)
        return
    with pytest.raises(exception.InvalidArgument):
        volume.connect(connector)
    assert volume.connections == []
    assert volume.status == 'available'


def test_nesting_of_a_value_holding_itself_is_measured_safely():
    from cinderlib import validation
    doubled = []
    doubled += [doubled, doubled]
    for value in (doubled, {'self': doubled}):
        with pytest.raises(exception.InvalidArgument):
            validation.nesting(value, 'value')
    assert validation.nesting(nested(validation.MAX_NESTING), 'v')


def test_load_takes_older_and_newer_minor_versions_not_other_majors(volume):
    """load() builds objects without oslo's coercion (checked data), and
    judges versions as from_primitive does: an older minor version, or a
    newer one (a newer Cinder's: its added fields are ignored), loads as
    this Cinder's; another major version is refused."""
    major, _, minor = volume._ovo.VERSION.partition('.')
    for version in ('1.0', f'{major}.{int(minor) + 1}'):
        data = volume.json
        fields_of(data)['volume_type']['versioned_object.version'] = version
        data['ovo']['versioned_object.version'] = version
        loaded = cinderlib.load(data)
        assert loaded.json['ovo']['versioned_object.version'] == (
            volume._ovo.VERSION)
        assert fields_of(loaded.json)['volume_type'][
            'versioned_object.version'] == volume._ovo.volume_type.VERSION
    data = volume.json
    data['ovo']['versioned_object.version'] = f'{int(major) + 1}.0'
    with pytest.raises(exception.InvalidSerializedData,
                       match=f'version {int(major) + 1}.0 of Volume'):
        cinderlib.load(data)


def test_load_takes_dates_without_time_zone_as_utc(volume):
    data = volume.json
    fields_of(data)['created_at'] = '2024-05-06T07:08:09.123456'
    loaded = cinderlib.load(data)
    assert loaded.created_at.isoformat() == '2024-05-06T07:08:09.123456+00:00'
    assert loaded.created_at.utcoffset().total_seconds() == 0
