"""Input refused before anything changes: sizes storage cannot address,
connector dicts the database could not give back, storage names with
path characters; and the status after an extend is retried."""

import math
import uuid
from fractions import Fraction

import pytest

import cinderlib
from cinderlib import exception
from cinderlib import validation
from cinderlib.persistence import schema

GiB = 1024 ** 3


def calls(driver, method):
    return [c for c in driver.calls if c[0] == method]


@pytest.fixture
def db_url(tmp_path):
    url = f'sqlite:///{tmp_path}/state.sqlite'
    cinderlib.setup(state_path=str(tmp_path),
                    persistence_config={'storage': 'db', 'connection': url})
    return url


@pytest.fixture(params=['memory', 'db'])
def any_backend(request, tmp_path):
    if request.param == 'db':
        request.getfixturevalue('db_url')
    return cinderlib.Backend('memory', volume_driver=(
        'tests.memory_driver.MemoryVolumeDriver'),
        memory_attach_dir=str(tmp_path))


# -- sizes ----------------------------------------------------------------

@pytest.mark.parametrize('value, gib', [
    (1, 1), (1.0, 1), (1.5, 2), (0.01, 1), (2 ** 33 - 1, 2 ** 33 - 1),
    (Fraction(5, 2), 3), (float(2 ** 32), 2 ** 32)])
def test_requested_sizes_round_up(value, gib):
    assert validation.requested_size(value) == gib


@pytest.mark.parametrize('value', [
    0, -1, 0.0, -0.1, math.nan, math.inf, -math.inf, 2 ** 33, 2 ** 64,
    float(2 ** 64), Fraction(10 ** 400, 3), True, '1', None, b'1', 1j])
def test_unusable_sizes_are_refused(value):
    with pytest.raises((exception.InvalidArgument,
                        exception.InvalidArgumentType)) as error:
        validation.requested_size(value)
    assert error.value.field == 'size'


def test_the_largest_size_is_a_64_bit_byte_count():
    assert validation.MAX_SIZE_GIB * GiB < 2 ** 63
    assert (validation.MAX_SIZE_GIB + 1) * GiB >= 2 ** 63
    assert validation.size(validation.MAX_SIZE_GIB)
    for bad in (1.0, validation.MAX_SIZE_GIB + 1, True):
        with pytest.raises(exception.CinderlibError):
            validation.size(bad)  # stored sizes are integers


def test_size_storage_cannot_address_leaves_no_record(backend, driver):
    with pytest.raises(exception.InvalidArgument):
        backend.create_volume(2 ** 64)
    assert backend.volumes == [] and calls(driver, 'create_volume') == []
    volume = backend.create_volume(1)
    with pytest.raises(exception.InvalidArgument):
        volume.extend(2 ** 64)
    assert volume.status == 'available'
    assert cinderlib.Volume.get_by_id(volume.id).status == 'available'
    assert calls(driver, 'extend_volume') == []


# -- extend after a failed extend -------------------------------------------

@pytest.mark.parametrize('connected', [False, True])
def test_extend_after_a_failure_takes_the_status_of_the_attach_state(
        any_backend, connector, connected):
    volume = any_backend.create_volume(1)
    if connected:
        volume.connect(connector)
    status = 'in-use' if connected else 'available'
    any_backend.driver.fail_on['extend_volume'] = RuntimeError('no space')
    with pytest.raises(RuntimeError):
        volume.extend(2)
    assert (volume.status, volume.previous_status) == ('error', status)
    assert cinderlib.Volume.get_by_id(volume.id).status == 'error'
    with pytest.raises(RuntimeError):  # failing again keeps what it was
        volume.extend(2)
    assert volume.previous_status == status
    del any_backend.driver.fail_on['extend_volume']
    assert volume.extend(2) == 2 * GiB
    assert (volume.status, volume.previous_status) == (status, None)
    stored = cinderlib.Volume.get_by_id(volume.id)
    assert (stored.status, stored.size) == (status, 2)


def test_ember_csi_retry_of_a_failed_extend(backend, driver):
    """Ember-CSI puts ``previous_status`` back before retrying."""
    volume = backend.create_volume(1)
    driver.fail_on['extend_volume'] = RuntimeError('timeout')
    with pytest.raises(RuntimeError):
        volume.extend(2.0)
    del driver.fail_on['extend_volume']
    if volume.status == 'error':
        volume._ovo.status = volume.previous_status
    assert volume.status == 'available'
    volume.extend(2.0)
    assert (volume.status, volume.size) == ('available', 2)


# -- connector dicts ---------------------------------------------------------

def _nested(levels):
    value = 'leaf'
    for _ in range(levels):
        value = {'d': value}
    return value


BAD_CONNECTORS = {
    'long host': {'host': 'h' * 256},
    'NUL in host': {'host': 'node\x001'},
    'surrogate in host': {'host': 'node\ud800'},
    'host not text': {'host': 42},
    'deep value': {'host': 'h', 'extra': _nested(100)},
    'NaN value': {'host': 'h', 'ratio': math.nan},
    'bytes value': {'host': 'h', 'initiator': b'iqn'},
    'set value': {'host': 'h', 'wwpns': {'a', 'b'}},
    'object value': {'host': 'h', 'x': object()},
    'key not text': {'host': 'h', 1: 'x'},
    'nested key not text': {'host': 'h', 'x': {2: 'y'}},
}


def test_connector_limits_are_those_of_the_database_columns():
    column = schema.connections.c.attached_host
    assert validation.MAX_HOST_LENGTH == column.type.length


@pytest.mark.parametrize('name', sorted(BAD_CONNECTORS))
def test_connectors_storage_cannot_hold_are_refused_before_anything(
        any_backend, name):
    volume = any_backend.create_volume(1)
    with pytest.raises((exception.InvalidArgument,
                        exception.InvalidArgumentType)) as error:
        volume.connect(BAD_CONNECTORS[name])
    assert error.value.field.startswith('connector')
    assert '\n' not in str(error.value)
    assert calls(any_backend.driver, 'create_export') == []
    assert volume.connections == [] and volume.status == 'available'
    assert cinderlib.Backend.persistence.get_connections() == []
    with pytest.raises((exception.InvalidArgument,
                        exception.InvalidArgumentType)):
        any_backend.validate_connector(BAD_CONNECTORS[name])
    with pytest.raises((exception.InvalidArgument,
                        exception.InvalidArgumentType)):
        cinderlib.Connection(any_backend, volume=volume,
                             connector=BAD_CONNECTORS[name])
    volume.delete()  # nothing holds it


def test_a_host_at_the_limit_is_stored_and_read_back(any_backend):
    volume = any_backend.create_volume(1)
    host = 'h' * validation.MAX_HOST_LENGTH
    connection = volume.connect({'host': host, 'nested': _nested(20)})
    plugin = cinderlib.Backend.persistence
    if plugin.shared:  # read back by a new plugin, as another process would
        cinderlib.Backend.set_persistence({
            'storage': 'db',
            'connection': plugin.engine.url.render_as_string(False)})
    stored = cinderlib.Connection.get_by_id(connection.id)
    assert stored.attached_host == host
    assert stored.connector_info['nested'] == _nested(20)
    stored.disconnect()
    cinderlib.Volume.get_by_id(volume.id).delete()


def test_connector_is_stored_as_a_copy(backend, volume):
    connector = {'host': 'h', 'wwpns': ('a', 'b')}
    connection = volume.connect(connector)
    connector['host'] = 'changed'
    assert connection.connector_info == {'host': 'h', 'wwpns': ['a', 'b']}


def test_connection_info_the_caller_gives_is_checked(backend, volume):
    for info in ({'conn': 'x'}, {'conn': {'data': []}}, {'device': 3},
                 {'connector': {'host': 'h' * 300}}, {'conn': _nested(40)},
                 'not a dict'):
        with pytest.raises((exception.InvalidArgument,
                            exception.InvalidArgumentType)):
            cinderlib.Connection(backend, volume=volume,
                                 connection_info=info)
    with pytest.raises(exception.InvalidArgument):
        cinderlib.Connection(backend, volume=volume, attach_mode='rx')
    with pytest.raises(exception.InvalidArgument):
        cinderlib.Connection(backend, volume=volume, attached_host='a\x00')


def test_attached_host_given_to_connect_is_checked(backend, volume,
                                                   connector):
    for bad in ('x' * 256, 'a\x00b', 7):
        with pytest.raises((exception.InvalidArgument,
                            exception.InvalidArgumentType)) as error:
            volume.connect(connector, attached_host=bad)
        assert error.value.field == 'attached_host'
    assert volume.connections == []
    assert calls(backend.driver, 'create_export') == []


# -- names on the storage ----------------------------------------------------

@pytest.mark.parametrize('name_id', ['../../../etc/passwd', 'a/b', '..',
                                     '', 'x' * 300, 'a\x00b', 7])
def test_storage_names_with_path_characters_are_refused(backend, driver,
                                                        name_id):
    for non_uuid_ids in (False, True):
        cinderlib.setup(non_uuid_ids=non_uuid_ids)
        if name_id == '':  # empty means none, as for ids
            assert backend.create_volume(1, _name_id='').name_in_storage
            continue
        with pytest.raises((exception.InvalidArgument,
                            exception.InvalidArgumentType)) as error:
            backend.create_volume(1, _name_id=name_id)
        assert error.value.field == '_name_id'
        with pytest.raises((exception.InvalidArgument,
                            exception.InvalidArgumentType)):
            cinderlib.Volume(backend, size=1, _name_id=name_id)
    assert all(call[0] != 'create_volume' or call[1] for call in
               driver.calls)
    assert all('..' not in name and '/' not in name
               for name in driver.volumes)


def test_a_usable_name_id_names_the_volume_on_the_storage(backend, driver):
    name_id = str(uuid.uuid4())
    volume = backend.create_volume(1, _name_id=name_id)
    assert volume.name_in_storage == f'volume-{name_id}'
    assert driver.volumes[f'volume-{name_id}'] == 1
    cinderlib.setup(non_uuid_ids=True)
    assert backend.create_volume(1, _name_id='disk.1').name_in_storage == (
        'volume-disk.1')


def test_other_fields_are_checked_as_what_they_store(backend):
    for field, value in (('availability_zone', 'z' * 256),
                         ('provider_location', 'a\x00b'),
                         ('bootable', 'yes'), ('multiattach', 1),
                         ('metadata', {'k': object()}),
                         ('created_at', '2020-01-01'),
                         ('status', 'x' * 37), ('attach_status', 'glued'),
                         ('volume_attachment', []), ('cluster', None)):
        with pytest.raises((exception.InvalidArgument,
                            exception.InvalidArgumentType)) as error:
            backend.create_volume(1, **{field: value})
        assert error.value.field == field
    assert backend.volumes == []


# -- one-line errors --------------------------------------------------------

def test_library_error_messages_are_one_line():
    error = exception.PersistenceUnavailable(
        'sqlite://', 'saving volume x',
        '(sqlite3.OperationalError) disk I/O error\n[SQL: INSERT ...]\n'
        '(Background on this error at: https://sqlalche.me/e/20/e3q8)')
    assert str(error) == (
        'Persistence database sqlite:// is unavailable while saving volume '
        'x: (sqlite3.OperationalError) disk I/O error [SQL: INSERT ...] '
        '(Background on this error at: https://sqlalche.me/e/20/e3q8)')
    assert str(exception.InvalidArgument('name', 'a\n  b\r\nc')) == (
        'Invalid name: a b c')


@pytest.mark.parametrize('value, field', [
    ({'a': {'b': [1, {'c': float('inf')}]}}, "v['a']['b'][1]['c']"),
    ({'a': [None, 'x', {1: 'y'}]}, "v['a'][2]"),
    ({'a': ['\ud800']}, "v['a'][0]"),
    ({'\ud800': 1}, 'v'),
    ({'k' * 50: {'s': {1, 2}}}, "v['" + 'k' * 39 + "]['s']"),
    ([[[[['deep']]]]], 'v[0][0][0][0]'),
])
def test_json_errors_name_where_the_value_is(value, field):
    with pytest.raises((exception.InvalidArgument,
                        exception.InvalidArgumentType)) as error:
        validation.json_value(value, 'v', 4)
    assert error.value.field == field


def test_json_values_are_plain_copies():
    class Text(str):
        pass

    value = {'a': [1, ('b', 2.5)], 'c': None, 'd': True, Text('e'): Text('f'),
             'g': {'h': 'é'}}
    copy = validation.json_value(value, 'v')
    assert copy == {'a': [1, ['b', 2.5]], 'c': None, 'd': True, 'e': 'f',
                    'g': {'h': 'é'}}
    assert copy['g'] is not value['g'] and copy['a'] is not value['a']
