"""JSON written by the retired cinderlib 5.x loads, works and round-trips.

The fixtures (``legacy_json/``, written by ``legacy_fixtures.py``, whose
docstring describes the format) are every shape the retired library
wrote: volumes created, with specs, cloned, from a snapshot, connected
and attached, extended, in error; their snapshots and connections, full
and simplified; backends with and without ``output_all_backend_info``;
``cinderlib.dumps()`` of two backends; what its ``db`` plugin read back;
objects of Cinder releases before Xena.  Each is loaded, stored
(``memory`` and ``db`` plugins), read back as another process would,
serialized and loaded again, and used through the file driver: its
connections disconnected, snapshots deleted, volumes extended and
deleted, the files on disk following.
"""

import json
import os

import pytest

import cinderlib
from cinderlib import exception
from tests.compat import legacy_fixtures

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
GiB = 1024 ** 3
FIXTURES = legacy_fixtures.fixtures()
NAMES = sorted(FIXTURES)


def canonical(data):
    return json.dumps(data, sort_keys=True)


def test_committed_fixtures_are_what_the_builder_writes():
    """Regenerate with ``python -m tests.compat.legacy_fixtures``."""
    directory = legacy_fixtures.DIRECTORY
    assert sorted(os.listdir(directory)) == sorted(
        f'{name}.json' for name in NAMES)
    for name in NAMES:
        with open(os.path.join(directory, f'{name}.json')) as source:
            assert json.load(source) == FIXTURES[name], name


# -- what a fixture holds -----------------------------------------------------
def fields(primitive):
    return primitive['versioned_object.data']


def serialized_objects(data):
    """Every serialized Volume, Snapshot and Connection in ``data``, and
    the snapshots and connections a volume lists: [(class, fields)]."""
    if isinstance(data, list):
        return [item for element in data
                for item in serialized_objects(element)]
    if data['class'] == 'Backend':
        return serialized_objects(data['volumes'])
    found = [(data['class'], fields(data['ovo']))]
    if data['class'] == 'Volume':
        for field, kind in (('snapshots', 'Snapshot'),
                            ('volume_attachment', 'Connection')):
            listed = fields(data['ovo']).get(field)
            for item in fields(listed)['objects'] if listed else ():
                found.append((kind, fields(item)))
    return found


def volume_fixture(volume_id):
    """The name of the fixture of a volume, in full form."""
    for name in NAMES:
        data = FIXTURES[name]
        if (isinstance(data, dict) and data['class'] == 'Volume' and
                fields(data['ovo'])['id'] == volume_id and
                'snapshots' in fields(data['ovo'])):
            return name
    raise LookupError(volume_id)


# -- a deployment of file backends named as the retired ones ------------------
@pytest.fixture(params=['memory', 'db'])
def storage(request, tmp_path):
    config = {'storage': request.param}
    if request.param == 'db':
        config['connection'] = f'sqlite:///{tmp_path}/legacy.sqlite'
    cinderlib.setup(state_path=str(tmp_path), persistence_config=config)
    return config


@pytest.fixture
def volumes_dir(storage, tmp_path):
    """Where the file backends ``lvm`` and ``ceph`` keep their files."""
    directory = tmp_path / 'volumes'
    for name in ('lvm', 'ceph'):
        cinderlib.Backend(name, volume_driver=FILE_DRIVER,
                          file_volumes_dir=str(directory))
    return directory


def make_files(directory, data):
    """The files of the volumes and snapshots ``data`` holds, as the file
    driver would have made them."""
    for kind, values in serialized_objects(data):
        if kind == 'Volume':
            path = directory / f'volume-{values["id"]}'
            size = values['size']
        elif kind == 'Snapshot':
            path = directory / f'snapshot-{values["id"]}'
            size = values['volume_size']
        else:
            continue
        with open(path, 'wb') as out:
            out.truncate(size * GiB)


def stored_copy(obj, storage):
    """``obj`` as another process reads it from persistence."""
    if storage['storage'] == 'db':
        cinderlib.Backend.set_persistence(dict(storage))
    kind = type(obj).__name__.lower()
    getter = getattr(cinderlib.Backend.persistence, f'get_{kind}s')
    found = getter(**{f'{kind}_id': obj.id})
    assert len(found) == 1, (kind, obj.id)
    return found[0]


def loaded_resources(result):
    found = []
    for item in result if isinstance(result, list) else [result]:
        if isinstance(item, cinderlib.Backend):
            found.extend(item.volumes)
        else:
            found.append(item)
    for obj in list(found):
        if isinstance(obj, cinderlib.Volume):
            found.extend(obj.snapshots + obj.connections)
    return found


# -- loading ------------------------------------------------------------------
@pytest.mark.parametrize('name', NAMES)
def test_loads_without_storing(name, volumes_dir):
    data = FIXTURES[name]
    result = cinderlib.load(json.dumps(data))
    expected = [(kind, values['id'])
                for kind, values in serialized_objects(data)]
    if isinstance(data, list) or data['class'] == 'Backend':
        backends = result if isinstance(result, list) else [result]
        assert all(isinstance(b, cinderlib.Backend) for b in backends)
    else:
        assert (type(result).__name__, result.id) == expected[0]
    plugin = cinderlib.Backend.persistence
    assert (plugin.get_volumes(), plugin.get_snapshots(),
            plugin.get_connections()) == ([], [], [])


@pytest.mark.parametrize('name', NAMES)
def test_loads_stores_and_round_trips(name, volumes_dir, storage):
    data = FIXTURES[name]
    if isinstance(data, dict) and data['class'] in ('Snapshot',
                                                    'Connection'):
        # A connection's full JSON holds its volume: stored beforehand.
        cinderlib.load(FIXTURES[volume_fixture(
            fields(data['ovo'])['volume_id'])], save=True)
    result = cinderlib.load(data, save=True)
    objects = loaded_resources(result)
    assert sorted((type(o).__name__, o.id) for o in objects) == sorted(
        set((kind, values['id'])
            for kind, values in serialized_objects(data)))
    for obj in objects:
        text = obj.jsons
        again = cinderlib.load(text)
        assert canonical(json.loads(again.jsons)) == canonical(
            json.loads(text))
        assert canonical(json.loads(obj.to_jsons(simplified=True))) == (
            canonical(obj.to_json(simplified=True)))
        copy = stored_copy(obj, storage)
        assert canonical(copy.to_json(simplified=True)) == canonical(
            obj.to_json(simplified=True))


# -- using what loaded --------------------------------------------------------
def retire(volume, volumes_dir):
    """Use a loaded volume to its end: disconnect, delete its snapshots,
    grow it if it is usable, delete it; the files follow."""
    path = volumes_dir / f'volume-{volume.id}'
    for connection in list(volume.connections):
        connection.disconnect()
    assert volume.connections == []
    for snapshot in list(volume.snapshots):
        snapshot.delete()
        assert not (volumes_dir / f'snapshot-{snapshot.id}').exists()
    if volume.status == 'available':
        size = volume.size + 1
        assert volume.extend(size) == size * GiB
        assert os.path.getsize(path) == size * GiB
    volume.delete()
    assert not path.exists()
    with pytest.raises(exception.VolumeNotFound):
        cinderlib.Volume.get_by_id(volume.id)


@pytest.mark.parametrize('name', [
    name for name in NAMES if isinstance(FIXTURES[name], list) or
    FIXTURES[name]['class'] in ('Volume', 'Backend')])
def test_loaded_volumes_work(name, volumes_dir):
    data = FIXTURES[name]
    make_files(volumes_dir, data)
    result = cinderlib.load(json.dumps(data), save=True)
    volumes = [obj for obj in loaded_resources(result)
               if isinstance(obj, cinderlib.Volume)]
    assert volumes
    for volume in volumes:
        retire(volume, volumes_dir)
    plugin = cinderlib.Backend.persistence
    assert (plugin.get_volumes(), plugin.get_snapshots(),
            plugin.get_connections()) == ([], [], [])


@pytest.mark.parametrize('name', [
    name for name in NAMES if isinstance(FIXTURES[name], dict) and
    FIXTURES[name]['class'] in ('Snapshot', 'Connection')])
def test_loaded_snapshots_and_connections_work(name, volumes_dir):
    """As a store keeping each object's JSON (Ember-CSI's) has them: the
    volume's and the child's JSON, each loaded and stored."""
    data = FIXTURES[name]
    volume_data = FIXTURES[volume_fixture(fields(data['ovo'])['volume_id'])]
    make_files(volumes_dir, volume_data)
    cinderlib.load(json.dumps(volume_data), save=True)
    child = cinderlib.load(json.dumps(data), save=True)
    if isinstance(child, cinderlib.Snapshot):
        child.delete()
        assert not (volumes_dir / f'snapshot-{child.id}').exists()
        with pytest.raises(exception.SnapshotNotFound):
            cinderlib.Snapshot.get_by_id(child.id)
    else:
        child.disconnect()
        with pytest.raises(exception.ConnectionNotFound):
            cinderlib.Connection.get_by_id(child.id)
    retire(cinderlib.Volume.get_by_id(child.volume_id), volumes_dir)


# -- what the retired shapes become -------------------------------------------
def test_connections_without_attach_status_are_attached(volumes_dir):
    """The retired library never set attach_status: its connections are
    live, and recovery leaves them alone."""
    data = FIXTURES['memory-connection']
    assert fields(data['ovo'])['attach_status'] is None
    make_files(volumes_dir, FIXTURES['memory-volume'])
    volume = cinderlib.load(FIXTURES['memory-volume'], save=True)
    connection = cinderlib.load(data, save=True)
    assert connection._ovo.attach_status == 'attached'
    assert connection.attached_host is None
    assert connection.attach_time is None
    assert connection.connector_info['host'] == 'node-1'
    assert connection.device == {'type': 'block',
                                 'scsi_wwn': '360014051e2f3a4b5c6d7e8f9',
                                 'path': '/dev/sdb'}
    assert volume.connections[0]._ovo.attach_status == 'attached'
    assert volume._ovo.attach_status == 'attached'  # 5.x left 'detached'
    report = cinderlib.Backend.backends['lvm'].recover()
    assert [entry for entry in report if entry['resource'] == 'connection'
            ] == []
    assert cinderlib.Connection.get_by_id(connection.id).connected


def test_deleted_connection_without_attach_status_is_detached(volumes_dir):
    data = json.loads(json.dumps(FIXTURES['memory-connection-simplified']))
    fields(data['ovo'])['deleted'] = True
    assert cinderlib.load(data)._ovo.attach_status == 'detached'


@pytest.mark.parametrize('name, type_id', [
    ('memory-volume', None), ('memory-restored', None),
    ('db-volume', legacy_fixtures.DEFAULT_TYPE_ID),
    ('db-read-volume', legacy_fixtures.DEFAULT_TYPE_ID),
    ('db-restored', legacy_fixtures.DEFAULT_TYPE_ID),
    ('db-grown', legacy_fixtures.DEFAULT_TYPE_ID)])
def test_volumes_without_specs_get_a_type_of_their_own(name, type_id,
                                                       volumes_dir):
    """The retired memory plugin left volumes without specs without a
    type; its db plugin gave them Cinder's default type (and their clones
    and volumes from snapshots only its id)."""
    data = FIXTURES[name]
    assert fields(data['ovo'])['volume_type_id'] == type_id
    volume = cinderlib.load(data, save=True)
    assert volume.volume_type_id == volume.id
    assert volume.volume_type.id == volume.volume_type.name == volume.id
    assert volume.volume_type.extra_specs == {}
    assert volume.volume_type.qos_specs is None
    for snapshot in volume.snapshots:
        assert snapshot.volume_type_id == volume.id


@pytest.mark.parametrize('name', ['memory-volume', 'memory-snapshot'])
def test_a_volume_whose_type_is_left_out_loads_as_one_whose_type_is_null(
        name, volumes_dir):
    """Left out or null, the volume gets a type of its own, so what it
    serializes to loads back the same (found by the fuzz test)."""
    data = json.loads(json.dumps(FIXTURES[name]))
    volume = fields(data['ovo'])
    volume = fields(volume['volume']) if 'volume' in volume else volume
    assert volume.pop('volume_type') is None
    obj = cinderlib.load(data)
    volume = obj if name == 'memory-volume' else obj.volume
    assert volume.volume_type_id == volume.volume_type.id == volume.id
    assert cinderlib.load(json.dumps(obj.json)).json == obj.json


def test_default_type_specs_are_kept_and_reach_drivers(volumes_dir):
    data = json.loads(json.dumps(FIXTURES['db-read-volume']))
    vtype = fields(fields(data['ovo'])['volume_type'])
    vtype['extra_specs'] = {'thin': 'true', 'unset': None}
    volume = cinderlib.load(data, save=True)
    assert volume.volume_type.extra_specs == {'thin': 'true',
                                              'unset': None}
    from cinder.volume import volume_types
    assert volume_types.get_volume_type_extra_specs(
        volume.volume_type_id) == {'thin': 'true', 'unset': None}


def test_snapshot_of_a_default_typed_volume_names_its_own_type(
        volumes_dir):
    data = FIXTURES['db-read-snapshot']
    values = fields(data['ovo'])
    assert values['volume_type_id'] == legacy_fixtures.DEFAULT_TYPE_ID
    snapshot = cinderlib.load(data)
    assert snapshot.volume_type_id == values['volume_id']


@pytest.mark.parametrize('change', [
    {'name': 'not-the-default'}, {'qos_specs_id': legacy_fixtures.fixed_id(
        'qos')}, {'extra_specs': {'k': 1}}, {'id': legacy_fixtures.fixed_id(
            'other-type')}])
def test_other_shared_types_are_still_refused(volumes_dir, change):
    """Only the default type, as the retired db plugin wrote it, becomes
    a volume's own type: nothing unknown (QoS specs not serialized, specs
    that are not strings, another type) is guessed."""
    data = json.loads(json.dumps(FIXTURES['db-volume']))
    vtype = fields(fields(data['ovo'])['volume_type'])
    vtype.update(change)
    with pytest.raises(exception.InvalidSerializedData) as error:
        cinderlib.load(data, save=True)
    assert 'volume_type' in str(error.value)
    assert cinderlib.Backend.persistence.get_volumes() == []


def test_older_object_versions_get_the_fields_added_since(volumes_dir):
    """Releases before Xena wrote Volume 1.8 and Snapshot 1.5 (no
    use_quota): they load as this Cinder's objects, with defaults."""
    data = FIXTURES['older-volume']
    assert data['ovo']['versioned_object.version'] == '1.8'
    assert 'use_quota' not in fields(data['ovo'])
    volume = cinderlib.load(data, save=True)
    assert volume.use_quota is True
    assert volume.snapshots[0].use_quota is True
    primitive = volume.json['ovo']
    assert primitive['versioned_object.version'] == '1.9'
    assert fields(primitive)['use_quota'] is True


def test_what_loads_is_written_in_this_librarys_format(volumes_dir):
    """Loading again what a loaded legacy volume serializes to changes
    nothing: the shapes are upgraded once."""
    volume = cinderlib.load(FIXTURES['db-volume'])
    data = volume.json
    assert fields(data['ovo'])['volume_type_id'] == volume.id
    attachment = fields(fields(data['ovo'])['volume_attachment'])[
        'objects'][0]
    assert fields(attachment)['attach_status'] == 'attached'
    again = cinderlib.load(json.dumps(data))
    assert canonical(again.json) == canonical(data)
