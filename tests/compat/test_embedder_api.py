"""The object API as Ember-CSI 0.9.1 and the retired library's callers use
it: sizes as numbers, every keyword the retired library took, the
constructor forms Ember-CSI uses, duplicate ids, loops that disconnect or
delete as they go, ``device_attached``, ``detach`` and one-line errors.
"""

import datetime
import inspect
import os
import uuid

import pytest

import cinderlib
from cinderlib import exception
from cinderlib import validation
from tests import memory_driver

GiB = 1024 ** 3
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'


def stored_volume(volume_id):
    found = cinderlib.Backend.persistence.get_volumes(volume_id=volume_id)
    return found[0] if found else None


def reopen_persistence(url):
    """A new plugin instance on the same database: what another process
    reads (no object of this process is handed back)."""
    cinderlib.Backend.set_persistence({'storage': 'db', 'connection': url})


@pytest.fixture
def db_url(tmp_path):
    url = f'sqlite:///{tmp_path}/state.sqlite'
    cinderlib.setup(state_path=str(tmp_path),
                    persistence_config={'storage': 'db', 'connection': url})
    return url


@pytest.fixture
def db_backend(db_url, tmp_path):
    return cinderlib.Backend('memory', volume_driver=memory_driver.__name__ +
                             '.MemoryVolumeDriver',
                             memory_attach_dir=str(tmp_path))


@pytest.fixture
def file_backend(tmp_path):
    return cinderlib.Backend('files', volume_driver=FILE_DRIVER,
                             file_volumes_dir=str(tmp_path / 'volumes'))


@pytest.fixture(params=['memory', 'db'])
def any_backend(request, tmp_path):
    """The in-memory driver with the memory plugin, then with the db plugin
    on SQLite."""
    if request.param == 'db':
        return request.getfixturevalue('db_backend')
    return request.getfixturevalue('backend')


def driver_calls(backend, method):
    return [call for call in backend.driver.calls if call[0] == method]


# -- sizes as numbers ---------------------------------------------------------

def test_integral_float_size_is_that_many_gib(backend, driver):
    volume = backend.create_volume(size=1.0, name='pvc')
    assert volume.size == 1 and type(volume.size) is int
    assert driver.volumes[volume.name_in_storage] == 1


@pytest.mark.parametrize('size, gib', [(1.2, 2), (2.5, 3), (0.001, 1),
                                       (3.000001, 4), (5, 5)])
def test_non_integral_size_rounds_up_never_down(backend, driver, size, gib):
    volume = backend.create_volume(size)
    assert volume.size == gib
    assert driver.volumes[volume.name_in_storage] == gib


def test_extend_clone_and_volume_from_snapshot_take_numbers(backend, driver):
    volume = backend.create_volume(1.0)
    assert volume.extend(2.5) == 3 * GiB
    assert volume.size == 3
    assert driver.volumes[volume.name_in_storage] == 3
    assert volume.clone(size=3.2).size == 4
    snapshot = volume.create_snapshot()
    assert snapshot.create_volume(size=4.5).size == 5
    assert cinderlib.Snapshot.create_volume(snapshot, size=3.0).size == 3


def test_extend_to_a_size_that_rounds_to_the_current_one_is_refused(backend):
    volume = backend.create_volume(2)
    with pytest.raises(exception.InvalidArgument):
        volume.extend(1.5)
    assert volume.size == 2 and volume.status == 'available'


@pytest.mark.parametrize('size', [True, False, '1', b'1', None, [1],
                                  float('nan'), float('inf'), -float('inf'),
                                  -1.0, 0.0, 2 ** 64, float(2 ** 64),
                                  validation.MAX_SIZE_GIB + 1])
def test_sizes_that_are_not_usable_numbers_are_refused(backend, driver,
                                                       size):
    volume = backend.create_volume(1)
    for call in (lambda: backend.create_volume(size),
                 lambda: volume.extend(size),
                 lambda: volume.clone(size=size)):
        with pytest.raises((exception.InvalidArgument,
                            exception.InvalidArgumentType)) as error:
            call()
        assert error.value.field == 'size'
    assert backend.volumes == [volume]
    assert volume.status == 'available' and volume.size == 1
    assert driver_calls(backend, 'extend_volume') == []
    assert len(driver_calls(backend, 'create_volume')) == 1


# -- every keyword of the retired API -----------------------------------------

# The retired library's public signatures (5.2.0): (class, method) ->
# [(parameter, default)], '**' when it took any keyword.
_NO_DEFAULT = inspect.Parameter.empty
RETIRED_SIGNATURES = {
    ('Backend', '__init__'): [('volume_backend_name', _NO_DEFAULT), '**'],
    ('Backend', 'volumes_filtered'): [('volume_id', None),
                                      ('volume_name', None)],
    ('Backend', 'stats'): [('refresh', False)],
    ('Backend', 'create_volume'): [('size', _NO_DEFAULT), ('name', ''),
                                   ('description', ''), ('bootable', False),
                                   '**'],
    ('Backend', 'validate_connector'): [('connector_dict', _NO_DEFAULT)],
    ('Backend', 'set_persistence'): [('persistence_config', _NO_DEFAULT)],
    ('Backend', 'global_setup'): [
        ('file_locks_path', None), ('root_helper', 'sudo'),
        ('suppress_requests_ssl_warnings', True), ('disable_logs', True),
        ('non_uuid_ids', False), ('output_all_backend_info', False),
        ('project_id', None), ('user_id', None),
        ('persistence_config', None), ('fail_on_missing_backend', True),
        ('host', None), '**'],
    ('Backend', 'load'): [('json_src', _NO_DEFAULT), ('save', False)],
    ('Backend', 'load_backend'): [('backend_data', _NO_DEFAULT)],
    ('Backend', 'refresh'): [],
    ('Backend', 'list_supported_drivers'): [('output_version', 1)],
    ('Volume', '__init__'): [('backend_or_vol', _NO_DEFAULT),
                             ('pool_name', None), '**'],
    ('Volume', 'get_by_id'): [('volume_id', _NO_DEFAULT)],
    ('Volume', 'get_by_name'): [('volume_name', _NO_DEFAULT)],
    ('Volume', 'create'): [],
    ('Volume', 'delete'): [],
    ('Volume', 'extend'): [('size', _NO_DEFAULT)],
    ('Volume', 'clone'): ['**'],
    ('Volume', 'create_snapshot'): [('name', ''), ('description', ''), '**'],
    ('Volume', 'attach'): [],
    ('Volume', 'detach'): [('force', False), ('ignore_errors', False)],
    ('Volume', 'connect'): [('connector_dict', _NO_DEFAULT), '**'],
    ('Volume', 'disconnect'): [('connection', _NO_DEFAULT), ('force', False)],
    ('Volume', 'cleanup'): [],
    ('Volume', 'refresh'): [],
    ('Volume', 'save'): [],
    ('Volume', 'to_json'): [('simplified', True)],
    ('Volume', 'to_jsons'): [('simplified', True)],
    ('Volume', 'to_dict'): [],
    ('Volume', 'load'): [('json_src', _NO_DEFAULT), ('save', False)],
    ('Volume', 'new_uuid'): [],
    ('Snapshot', '__init__'): [('volume', _NO_DEFAULT), '**'],
    ('Snapshot', 'create'): [],
    ('Snapshot', 'delete'): [],
    ('Snapshot', 'create_volume'): ['**'],
    ('Snapshot', 'get_by_id'): [('snapshot_id', _NO_DEFAULT)],
    ('Snapshot', 'get_by_name'): [('snapshot_name', _NO_DEFAULT)],
    ('Snapshot', 'save'): [],
    ('Snapshot', 'refresh'): [],
    ('Connection', '__init__'): ['**'],
    ('Connection', 'connect'): [('volume', _NO_DEFAULT),
                                ('connector', _NO_DEFAULT), '**'],
    ('Connection', 'disconnect'): [('force', False)],
    ('Connection', 'device_attached'): [('device', _NO_DEFAULT)],
    ('Connection', 'attach'): [],
    ('Connection', 'detach'): [('force', False), ('ignore_errors', False),
                               ('exc', None)],
    ('Connection', 'get_by_id'): [('connection_id', _NO_DEFAULT)],
    ('Connection', 'save'): [],
    ('Connection', 'extend'): [],
    ('Connection', 'refresh'): [],
    ('KeyValue', '__init__'): [('key', None), ('value', None)],
}
RETIRED_PROPERTIES = {
    # Backend.id is an attribute of each backend here.
    'Backend': ['pool_names', 'volumes', 'config', 'json', 'jsons', 'dump',
                'dumps'],
    'Volume': ['snapshots', 'connections', 'name', 'description',
               'name_in_storage', 'json', 'jsons', 'dump', 'dumps'],
    'Snapshot': ['volume', 'name', 'description', 'name_in_storage'],
    'Connection': ['volume', 'conn_info', 'protocol', 'connector_info',
                   'device', 'path', 'connector', 'attached', 'connected',
                   'backend'],
}
RETIRED_SETTERS = {'Connection': ['conn_info', 'connector_info', 'device',
                                  'backend', 'volume'],
                   'Snapshot': ['volume']}


@pytest.mark.parametrize('where', sorted(RETIRED_SIGNATURES),
                         ids=lambda where: '.'.join(where))
def test_every_retired_parameter_is_taken_with_its_default(where):
    cls = getattr(cinderlib, where[0])
    parameters = inspect.signature(getattr(cls, where[1])).parameters
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    for expected in RETIRED_SIGNATURES[where]:
        if expected == '**':
            assert var_keyword, f'{where} takes no **kwargs'
            continue
        name, default = expected
        if name not in parameters:
            assert var_keyword, f'{where} lacks {name}'
            continue
        assert parameters[name].default == default, (where, name)
        assert parameters[name].kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY), (where, name)


def test_retired_properties_and_setters_exist():
    for class_name, names in RETIRED_PROPERTIES.items():
        cls = getattr(cinderlib, class_name)
        for name in names:
            assert isinstance(inspect.getattr_static(cls, name), property), (
                class_name, name)
    for class_name, names in RETIRED_SETTERS.items():
        cls = getattr(cinderlib, class_name)
        for name in names:
            assert inspect.getattr_static(cls, name).fset, (class_name, name)


def test_create_volume_as_ember_csi_calls_it(backend, driver):
    """Its CreateVolume: a float size, empty specs, multiattach from the
    capabilities, metadata, and StorageClass parameters as fields."""
    for multiattach in (False, True):
        volume = backend.create_volume(
            size=1.0, name=f'pvc-{multiattach}', qos_specs={},
            extra_specs={}, multiattach=multiattach,
            metadata={'ember_csi_caps': '[]'}, availability_zone='az1')
        assert volume.status == 'available'
        assert volume.multiattach is multiattach
        assert volume.metadata == {'ember_csi_caps': '[]'}
        assert volume.availability_zone == 'az1'
        assert stored_volume(volume.id).multiattach is multiattach


_NOW = datetime.datetime(2021, 3, 4, 5, 6, 7, 891011,
                         tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize('field, value', [
    ('multiattach', True), ('bootable', True), ('user_id', 'alice'),
    ('project_id', 'tenant-1'), ('created_at', _NOW),
    ('availability_zone', 'az2'), ('metadata', {'a': 'b'}),
    ('admin_metadata', {'fs_type': 'ext4'}), ('display_name', 'dn'),
    ('display_description', 'dd'), ('provider_location', 'loc'),
    ('snapshot_id', str(uuid.uuid4())), ('source_volid', str(uuid.uuid4())),
    ('_name_id', str(uuid.uuid4())), ('id', str(uuid.uuid4())),
])
def test_create_volume_keyword_overrides_our_default(any_backend, field,
                                                     value):
    volume = any_backend.create_volume(1, **{field: value})
    assert volume.status == 'available'
    for copy in (volume, stored_volume(volume.id)):
        if field == 'admin_metadata':  # the test driver adds its own
            assert copy.admin_metadata.items() >= value.items()
        elif field == 'provider_location':  # the driver sets its own
            assert copy.provider_location.startswith('memory://')
        else:
            assert getattr(copy._ovo, field) == value


def test_status_and_host_given_to_create_volume(backend):
    volume = backend.create_volume(1, status='available',
                                   host=f'node9@{backend.id}#memory')
    assert volume.status == 'available'  # create() sets it as it goes
    assert volume.host == f'node9@{backend.id}#memory'
    assert volume.pool_name == 'memory'
    with pytest.raises(exception.InvalidArgument) as error:
        backend.create_volume(1, host='node9@other#memory')
    assert error.value.field == 'host'
    with pytest.raises(exception.InvalidArgument) as error:
        backend.create_volume(1, host=f'node9@{backend.id}#memory',
                              pool_name='elsewhere')
    assert error.value.field == 'pool_name'
    assert backend.volumes == [volume]


def test_name_given_twice_differently_is_refused(backend):
    assert backend.create_volume(1, name='a', display_name='a').name == 'a'
    with pytest.raises(exception.InvalidArgument) as error:
        backend.create_volume(1, name='a', display_name='b')
    assert error.value.field == 'name'


def test_volume_constructor_forms(backend, driver):
    volume = cinderlib.Volume(backend, size=2, name='a', bootable=True,
                              multiattach=False, user_id='u').create()
    assert (volume.size, volume.name, volume.bootable) == (2, 'a', True)
    by_name = cinderlib.Volume('memory', size=1.5, pool_name='memory')
    assert by_name.backend is backend and by_name.size == 2
    assert by_name.create().status == 'available'
    copy = cinderlib.Volume(volume, name='copy')
    assert (copy.size, copy.backend, copy.pool_name) == (2, backend, 'memory')
    default = cinderlib.Volume(backend)  # the retired library's default
    assert default.size == 1
    with pytest.raises(exception.BackendNotLoaded):
        cinderlib.Volume('no-such-backend', size=1)


def test_clone_and_volume_from_snapshot_keywords(backend):
    source = backend.create_volume(1, extra_specs={'a': 'b'})
    clone = source.clone(name='c', description='d', size=2.0,
                         multiattach=False, metadata={'k': 'v'},
                         qos_specs={'maxIOPS': '5'}, extra_specs={'x': 'y'},
                         source_volid=source.id, pool_name='memory')
    assert (clone.name, clone.size, clone.source_volid) == ('c', 2,
                                                            source.id)
    assert clone.volume_type.extra_specs == {'x': 'y'}
    with pytest.raises(exception.InvalidArgument) as error:
        source.clone(source_volid=str(uuid.uuid4()))
    assert error.value.field == 'source_volid'
    snapshot = source.create_snapshot(name='s', description='sd',
                                      metadata={'m': 'n'})
    new = snapshot.create_volume(name='n', size=1.0, multiattach=False,
                                 metadata={}, qos_specs={}, extra_specs={},
                                 snapshot_id=snapshot.id)
    assert (new.name, new.snapshot_id) == ('n', snapshot.id)
    with pytest.raises(exception.InvalidArgument) as error:
        snapshot.create_volume(snapshot_id=str(uuid.uuid4()))
    assert error.value.field == 'snapshot_id'


def test_snapshot_constructor_forms(backend, volume):
    snapshot_id = str(uuid.uuid4())
    snapshot = cinderlib.Snapshot(
        volume, name='s', description='d', id=snapshot_id, metadata={'a': 'b'},
        backend=volume.backend, volume_id=volume.id, volume_size=volume.size,
        volume_type_id=volume.volume_type_id, user_id='u', project_id='p',
        status='creating').create()
    assert (snapshot.id, snapshot.name, snapshot.user_id) == (
        snapshot_id, 's', 'u')
    assert snapshot.status == 'available'
    assert cinderlib.Snapshot(volume, backend='memory').backend is backend
    for field, value in (('volume_id', str(uuid.uuid4())),
                         ('volume_size', 7),
                         ('backend', 'no-such-backend')):
        with pytest.raises((exception.InvalidArgument,
                            exception.BackendNotLoaded)):
            cinderlib.Snapshot(volume, **{field: value})
    assert volume.snapshots == [snapshot]


def test_connect_as_ember_csi_calls_it(any_backend, connector):
    volume = any_backend.create_volume(1)
    instance = str(uuid.uuid4())
    connection_id = str(uuid.uuid4())
    connection = volume.connect(
        connector, attached_host='node-id-1', mountpoint='',
        attach_mode='rw', instance_uuid=instance, id=connection_id,
        use_multipath=False, device_scan_attempts=5, attach_time=_NOW)
    assert connection.id == connection_id
    assert connection.attached_host == 'node-id-1'
    assert connection.mountpoint == ''
    assert connection.instance_uuid == instance
    assert connection.attach_mode == 'rw'
    assert connection.attach_time == _NOW
    assert connection.device_scan_attempts == 5
    stored = cinderlib.Connection.get_by_id(connection_id)
    assert stored.attached_host == 'node-id-1'
    assert volume.connect(connector, attach_mode='ro').attach_mode == 'ro'


@pytest.mark.parametrize('field', ['connector', 'connection_info',
                                   'attach_status', 'status', 'volume'])
def test_connect_refuses_fields_the_export_sets(backend, volume, connector,
                                                field):
    with pytest.raises(exception.InvalidArgument) as error:
        volume.connect(connector, **{field: {}})
    assert error.value.field == field
    assert volume.connections == [] and volume.status == 'available'
    assert driver_calls(backend, 'create_export') == []


def test_ember_csi_duplicate_connection_and_unpublish(db_backend, db_url,
                                                      connector):
    """Its ControllerPublish duplicates a connection with the Connection
    constructor, changes the connector in place and saves; its
    ControllerUnpublish deletes all but one through the plugin and
    disconnects the last."""
    volume = db_backend.create_volume(1)
    first = volume.connect(dict(connector, capability='a'),
                           attached_host='node-1', mountpoint='',
                           attach_mode='rw')
    pod = str(uuid.uuid4())
    duplicate = cinderlib.Connection(
        volume.backend, connector=first.connector_info, volume=volume,
        status='attached', connection_info=first.connection_info.copy(),
        attach_mode='ro', attached_host=first.attached_host,
        mountpoint='/mnt/x', instance_uuid=pod)
    duplicate.connector_info['capability'] = 'b'
    duplicate.save()
    volume._connections.append(duplicate)
    volume._ovo.volume_attachment.objects.append(duplicate._ovo)
    assert first.connector_info['capability'] == 'a'

    reopen_persistence(db_url)
    volume = cinderlib.Volume.get_by_id(volume.id)
    found = {c.id: c for c in volume.connections}
    assert set(found) == {first.id, duplicate.id}
    copy = found[duplicate.id]
    assert copy.connector_info['capability'] == 'b'
    assert (copy.attach_status, copy.attach_mode, copy.mountpoint,
            copy.instance_uuid, copy.attached_host) == (
        'attached', 'ro', '/mnt/x', pod, 'node-1')
    assert copy.conn_info['data']['access_mode'] == 'ro'
    assert copy.conn_info['driver_volume_type'] == 'local'

    connections = [c for c in volume.connections
                   if c.attached_host == 'node-1']
    for extra in connections[1:]:
        cinderlib.Backend.persistence.delete_connection(extra)
        volume._connections.remove(extra)
        volume._ovo.volume_attachment.objects.remove(extra._ovo)
    connections[0].disconnect()
    assert volume.status == 'available'
    reopen_persistence(db_url)
    assert cinderlib.Backend.persistence.get_connections(
        volume_id=volume.id) == []


def test_connector_info_changed_in_place_is_saved_and_checked(
        db_backend, db_url, connector):
    volume = db_backend.create_volume(1)
    connection = volume.connect(connector)
    connection.connector_info['node_capability'] = {'block': True}
    connection.save()
    connection.connector_info['host'] = 'x' * 256
    with pytest.raises(exception.InvalidArgument):
        connection.save()
    reopen_persistence(db_url)
    stored = cinderlib.Connection.get_by_id(connection.id)
    assert stored.connector_info['node_capability'] == {'block': True}
    assert stored.connector_info['host'] == connector['host']
    stored.connector_info = dict(stored.connector_info, extra='1')
    stored.save()
    reopen_persistence(db_url)
    assert cinderlib.Connection.get_by_id(
        connection.id).connector_info['extra'] == '1'


def test_connection_constructor_needs_its_volume(backend, volume):
    with pytest.raises(exception.InvalidArgument) as error:
        cinderlib.Connection(backend)
    assert error.value.field == 'volume'
    by_id = cinderlib.Connection('memory', volume_id=volume.id,
                                 connector={'host': 'h'})
    assert by_id.volume is volume and by_id.attached_host == 'h'
    no_backend = cinderlib.Connection(None, volume=volume)
    assert no_backend.backend is backend
    assert (no_backend.attach_status, no_backend.attach_mode) == (
        'attached', 'rw')
    with pytest.raises(exception.InvalidArgument):
        cinderlib.Connection(backend, volume=volume, status='attached',
                             attach_status='detached')


def test_methods_by_keyword(backend, volume, connector):
    assert backend.volumes_filtered(volume_id=volume.id,
                                    volume_name='disk') == [volume]
    assert backend.stats(refresh=True)['pools']
    backend.validate_connector(connector_dict=connector)
    assert cinderlib.Volume.get_by_id(volume_id=volume.id) is volume
    assert cinderlib.Volume.get_by_name(volume_name='disk') == [volume]
    connection = volume.connect(connector_dict=connector)
    assert cinderlib.Connection.get_by_id(
        connection_id=connection.id) is connection
    volume.disconnect(connection=connection, force=False)
    snapshot = volume.create_snapshot(name='s')
    assert cinderlib.Snapshot.get_by_id(snapshot_id=snapshot.id) is snapshot
    assert cinderlib.Snapshot.get_by_name(snapshot_name='s') == [snapshot]
    key_value = cinderlib.KeyValue(key='node-1', value='{}')
    assert (key_value.key, key_value.value) == ('node-1', '{}')
    assert cinderlib.Backend.load_backend(
        backend_data={'volume_backend_name': 'memory'}) is backend
    assert uuid.UUID(cinderlib.Volume.new_uuid())


def test_serialization_methods_as_retired(backend, volume, connector):
    snapshot = volume.create_snapshot()
    connection = volume.connect(connector)
    # to_json() / to_jsons() are simplified by default; json is full.
    assert 'snapshots' not in volume.to_json()['ovo']['versioned_object.data']
    assert 'snapshots' in volume.json['ovo']['versioned_object.data']
    assert 'volume' not in snapshot.to_json()['ovo']['versioned_object.data']
    assert len(volume.to_jsons()) < len(volume.to_jsons(simplified=False))
    as_dict = volume.to_dict()
    assert as_dict['volume']['id'] == volume.id
    assert as_dict['volume']['size'] == 1
    assert cinderlib.Volume.load(json_src=volume.jsons, save=False).id == (
        volume.id)
    assert cinderlib.Snapshot.load(snapshot.json).id == snapshot.id
    assert cinderlib.Connection.load(connection.to_jsons()).id == (
        connection.id)
    with pytest.raises(exception.InvalidSerializedData):
        cinderlib.Snapshot.load(volume.json)
    assert cinderlib.Backend.load(backend.jsons).id == backend.id


def test_setters_of_the_retired_connection(backend, volume, connector):
    connection = volume.connect(connector)
    connection.conn_info = dict(connection.conn_info, extra=1)
    assert connection.conn_info['extra'] == 1
    assert connection.conn_info['data']['access_mode'] == 'rw'
    connection.device = {'path': '/dev/sdz', 'type': 'block'}
    assert connection.connection_info['device']['path'] == '/dev/sdz'
    connection.save()
    assert cinderlib.Connection.get_by_id(connection.id).path == '/dev/sdz'
    snapshot = volume.create_snapshot()
    snapshot.volume = volume
    with pytest.raises(exception.InvalidArgument):
        snapshot.volume = backend.create_volume(1)


# -- duplicate ids ------------------------------------------------------------

@pytest.fixture(params=['memory-driver', 'file-driver'])
def either_driver(request):
    if request.param == 'file-driver':
        return request.getfixturevalue('file_backend')
    return request.getfixturevalue('backend')


def _creations_with_id(backend, existing_id, source, snapshot):
    return [lambda: backend.create_volume(1, id=existing_id),
            lambda: cinderlib.Volume(backend, size=1, id=existing_id).create(),
            lambda: source.clone(id=existing_id),
            lambda: snapshot.create_volume(id=existing_id)]


def test_duplicate_volume_id_is_refused_before_anything_changes(
        either_driver):
    backend = either_driver
    existing = backend.create_volume(3, name='existing')
    source = backend.create_volume(1)
    snapshot = source.create_snapshot()
    before = existing.jsons
    for create in _creations_with_id(backend, existing.id, source, snapshot):
        with pytest.raises(exception.AlreadyExists) as error:
            create()
        assert error.value.object_id == existing.id
        assert existing.id in str(error.value)
    assert existing.jsons == before
    assert stored_volume(existing.id).size == 3
    assert stored_volume(existing.id).status == 'available'
    assert len(backend.volumes) == 2
    existing.extend(4)  # still usable
    existing.delete()


def test_only_the_object_whose_creation_failed_may_create_again(backend,
                                                                driver):
    driver.fail_on['create_volume'] = RuntimeError('array busy')
    with pytest.raises(RuntimeError) as error:
        backend.create_volume(2, name='first')
    failed = error.value.resource
    del driver.fail_on['create_volume']
    with pytest.raises(exception.AlreadyExists):  # another object
        backend.create_volume(1, id=failed.id)
    assert stored_volume(failed.id).status == 'error'
    assert failed.create() is failed  # the same object: a retry
    assert (failed.status, failed.size) == ('available', 2)
    with pytest.raises(exception.AlreadyExists):  # created already
        failed.create()
    assert stored_volume(failed.id).status == 'available'


def test_duplicate_volume_id_through_the_db_plugin(db_backend, db_url):
    existing = db_backend.create_volume(3)
    reopen_persistence(db_url)
    with pytest.raises(exception.AlreadyExists):
        db_backend.create_volume(1, id=existing.id)
    reopen_persistence(db_url)
    stored = stored_volume(existing.id)
    assert (stored.size, stored.status) == (3, 'available')
    assert db_backend.driver.volumes[existing.name_in_storage] == 3


def test_duplicate_snapshot_id_is_refused(any_backend):
    volume = any_backend.create_volume(1)
    other = any_backend.create_volume(1)
    snapshot = volume.create_snapshot(name='first')
    calls = len(any_backend.driver.calls)
    for source in (volume, other):
        with pytest.raises(exception.AlreadyExists):
            source.create_snapshot(name='second', id=snapshot.id)
    assert len(any_backend.driver.calls) == calls
    assert cinderlib.Snapshot.get_by_id(snapshot.id).name == 'first'
    assert volume.snapshots == [snapshot] and other.snapshots == []
    assert cinderlib.Snapshot.get_by_id(snapshot.id).volume_id == volume.id


def test_duplicate_connection_id_is_refused(any_backend, connector):
    volume = any_backend.create_volume(1)
    connection = volume.connect(connector)
    exports = len(driver_calls(any_backend, 'create_export'))
    with pytest.raises(exception.AlreadyExists):
        volume.connect(dict(connector, host='node-2'), id=connection.id)
    assert len(driver_calls(any_backend, 'create_export')) == exports
    assert cinderlib.Connection.get_by_id(connection.id).attached_host == (
        connector['host'])
    assert volume.connections == [connection]


# -- loops that disconnect or delete as they go -------------------------------

@pytest.mark.parametrize('count', [1, 2, 5])
def test_disconnecting_in_a_loop_disconnects_every_connection(
        any_backend, connector, count):
    volume = any_backend.create_volume(1)
    for index in range(count):
        volume.connect(dict(connector, host=f'node-{index}'))
    for connection in volume.connections:
        connection.disconnect()
    assert volume.connections == []
    assert volume.status == 'available'
    assert cinderlib.Backend.persistence.get_connections(
        volume_id=volume.id) == []
    assert len(driver_calls(any_backend, 'terminate_connection')) == count


@pytest.mark.parametrize('count', [1, 2, 5])
def test_disconnecting_in_a_loop_in_a_new_process(db_backend, db_url,
                                                  connector, count):
    volume = db_backend.create_volume(1)
    for index in range(count):
        volume.connect(dict(connector, host=f'node-{index}'))
    reopen_persistence(db_url)
    volume = db_backend.volumes_filtered(volume_id=volume.id)[0]
    for connection in volume.connections:
        connection.disconnect()
    reopen_persistence(db_url)
    assert stored_volume(volume.id).status == 'available'
    assert cinderlib.Backend.persistence.get_connections(
        volume_id=volume.id) == []


@pytest.mark.parametrize('count', [1, 2, 5])
def test_deleting_snapshots_in_a_loop_deletes_every_one(any_backend, count):
    volume = any_backend.create_volume(1)
    for _ in range(count):
        volume.create_snapshot()
    for snapshot in volume.snapshots:
        snapshot.delete()
    assert volume.snapshots == []
    assert cinderlib.Backend.persistence.get_snapshots(
        volume_id=volume.id) == []
    volume.delete()


def test_iteration_sees_the_list_as_it_was_when_it_started(backend,
                                                           connector):
    volume = backend.create_volume(1)
    volume.connect(connector)
    seen = []
    for connection in volume.connections:
        seen.append(connection)
        volume.connect(dict(connector, host='late'))  # not seen by this loop
    assert len(seen) == 1 and len(volume.connections) == 2
    assert [c.attached_host for c in reversed(volume.connections)] == [
        'late', connector['host']]


# -- device_attached records what the caller attached -------------------------

def test_device_attached_records_the_device_for_other_processes(
        db_backend, db_url, connector):
    volume = db_backend.create_volume(1)
    connection = volume.connect(connector)
    device = {'type': 'block', 'path': '/dev/fake-on-another-host',
              'scsi_wwn': '360000'}
    assert connection.device_attached(device) is None
    assert connection._connector is None  # os-brick was not asked
    assert connection.device == device and connection.attached
    reopen_persistence(db_url)
    stored = cinderlib.Connection.get_by_id(connection.id)
    assert stored.connection_info['device'] == device
    assert stored.device == device and stored.path == device['path']
    stored.device_attached(None)
    reopen_persistence(db_url)
    assert cinderlib.Connection.get_by_id(connection.id).device is None


def test_device_attached_refuses_what_cannot_be_stored(backend, volume,
                                                       connector):
    connection = volume.connect(connector)
    deep = {}
    for _ in range(100):
        deep = {'d': deep}
    for bad in ('/dev/sda', {'path': float('nan')}, {'path': deep},
                {1: 'x'}):
        with pytest.raises((exception.InvalidArgument,
                            exception.InvalidArgumentType)):
            connection.device_attached(bad)
    assert cinderlib.Connection.get_by_id(connection.id).device is None


def test_device_attached_of_a_disconnected_connection(any_backend,
                                                      connector):
    volume = any_backend.create_volume(1)
    connection = volume.connect(connector)
    stale = cinderlib.load(connection.jsons)
    connection.disconnect()
    with pytest.raises(exception.ConnectionNotFound):
        stale.device_attached({'path': '/dev/x'})
    assert cinderlib.Backend.persistence.get_connections(
        volume_id=volume.id) == []


# -- detach clears the volume's local attachment ------------------------------

def test_connection_detach_lets_the_volume_attach_again(backend, volume):
    first = volume.attach()
    first.detach()
    assert volume.local_attach is None
    assert not first.attached
    second = volume.attach()
    assert second is not first
    assert second.attached and os.path.exists(second.path)
    assert volume.local_attach is second
    volume.detach()
    first.disconnect()
    assert volume.status == 'available'


def test_connection_detach_on_the_file_driver(file_backend):
    volume = file_backend.create_volume(1)
    connection = volume.attach()
    connection.detach()
    assert volume.local_attach is None
    again = volume.attach()
    assert again.attached and os.path.isfile(again.path)
    volume.cleanup()
    volume.delete()


# -- errors are one line, naming what failed ----------------------------------

def _failures(backend, connector, tmp_path):
    """(callable, what the message must name) for library errors."""
    volume = backend.create_volume(1)
    snapshot = volume.create_snapshot()
    connection = volume.connect(connector)
    missing = str(uuid.uuid4())
    return [
        (lambda: backend.create_volume(0), 'size'),
        (lambda: backend.create_volume('big'), 'size'),
        (lambda: backend.create_volume(1, id=volume.id), volume.id),
        (lambda: backend.create_volume(1, id='x\ny'), 'id'),
        (lambda: backend.create_volume(1, name='a\nb' * 200), 'name'),
        (lambda: backend.create_volume(1, colour='red'), 'colour'),
        (lambda: backend.create_volume(1, pool_name='p\nq'), 'pool_name'),
        (lambda: backend.create_volume(1, _name_id='../etc'), '_name_id'),
        (lambda: volume.extend(1), volume.id),
        (lambda: volume.delete(), volume.id),
        (lambda: volume.connect({'host': 'a\nb' * 200}), 'host'),
        (lambda: volume.connect('node\n1'), 'connector'),
        (lambda: volume.create_snapshot(id=snapshot.id), snapshot.id),
        (lambda: cinderlib.Volume.get_by_id(missing), missing),
        (lambda: cinderlib.Snapshot.get_by_id(missing), missing),
        (lambda: cinderlib.Connection.get_by_id(missing), missing),
        (lambda: backend.create_volume(1).detach(), 'attached'),
        (lambda: connection.device_attached('/dev/x\n'), 'device'),
        (lambda: cinderlib.load('{"class": "Volume"\n}'), 'Volume'),
        (lambda: cinderlib.Volume('gone\nbackend'), 'gone'),
        (lambda: cinderlib.setup(persistence_config={
            'storage': 'db', 'connection': f'sqlite:///{tmp_path}/no/x.db'}),
         'persistence'),
    ]


def test_library_errors_are_one_line_naming_what_failed(backend, connector,
                                                        tmp_path):
    for call, named in _failures(backend, connector, tmp_path):
        with pytest.raises(Exception) as error:
            call()
        message = str(error.value)
        assert '\n' not in message and '\r' not in message, message
        assert named in message, (named, message)
        assert 'sqlalche.me' not in message


def test_driver_failures_keep_the_volume_and_name_it(backend, driver):
    driver.fail_on['create_volume'] = memory_driver.MemoryDriverError(
        reason='array full')
    with pytest.raises(memory_driver.MemoryDriverError) as error:
        backend.create_volume(1)
    assert '\n' not in str(error.value)
    assert error.value.resource.status == 'error'
