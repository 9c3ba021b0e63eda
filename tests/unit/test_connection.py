"""Connections to remote hosts and local attachments."""

import os

import pytest

import cinderlib
from cinderlib import exception


def calls(driver, method):
    return [c for c in driver.calls if c[0] == method]


def test_connect_exports_and_marks_volume_in_use(driver, volume, connector):
    connection = volume.connect(connector)
    assert volume.status == 'in-use'
    assert volume.attach_status == 'attached'
    assert connection.connected
    assert not connection.attached
    assert connection.protocol == 'local'
    assert connection.connector_info == connector
    assert connection.conn_info['data']['device_path']
    assert connection.connection_info['connector'] == connector
    assert connection.connection_info['device'] is None
    assert connection.attach_mode == 'rw'
    assert connection.volume is volume
    assert volume.connections == [connection]
    assert cinderlib.Connection.get_by_id(connection.id) is connection
    assert len(calls(driver, 'create_export')) == 1


def test_connect_read_only(volume, connector):
    connection = volume.connect(connector, attach_mode='ro')
    assert connection.attach_mode == 'ro'
    assert connection.conn_info['data']['access_mode'] == 'ro'


@pytest.mark.parametrize('bad', [None, 'host-1', ['host'], {1: 'x'}])
def test_connector_must_be_a_dict(driver, volume, bad):
    with pytest.raises(TypeError) as error:
        volume.connect(bad)
    assert error.value.field == 'connector'
    assert volume.status == 'available'
    assert not calls(driver, 'create_export')


def test_connector_rejected_by_driver_changes_nothing(driver, volume):
    with pytest.raises(Exception) as error:
        volume.connect({'initiator': 'no host'})
    assert error.value.resource is volume
    assert volume.connections == []
    assert volume.status == 'available'


def test_validate_connector(backend, connector):
    backend.validate_connector(connector)
    with pytest.raises(Exception):
        backend.validate_connector({'initiator': 'x'})
    with pytest.raises(TypeError):
        backend.validate_connector('node-1')


def test_remove_export_only_when_last_connection_goes(driver, volume,
                                                      connector):
    first = volume.connect(connector)
    second = volume.connect(dict(connector, host='node-2'))
    first.disconnect()
    assert calls(driver, 'terminate_connection') == [
        ('terminate_connection', volume.id)]
    assert calls(driver, 'remove_export') == []
    assert volume.status == 'in-use'
    second.disconnect()
    assert calls(driver, 'remove_export') == [('remove_export', volume.id)]
    assert volume.status == 'available'
    assert volume.attach_status == 'detached'
    assert volume.connections == []
    assert cinderlib.Backend.persistence.get_connections(
        volume_id=volume.id) == []


def test_failed_initialize_connection_removes_first_export(driver, volume,
                                                           connector):
    driver.fail_on['initialize_connection'] = RuntimeError('target down')
    with pytest.raises(RuntimeError) as error:
        volume.connect(connector)
    assert error.value.resource is volume
    assert calls(driver, 'remove_export') == [('remove_export', volume.id)]
    assert volume.status == 'available'
    assert volume.connections == []


def test_failed_disconnect_keeps_the_connection(driver, volume, connector):
    connection = volume.connect(connector)
    driver.fail_on['terminate_connection'] = RuntimeError('timeout')
    with pytest.raises(RuntimeError) as error:
        connection.disconnect()
    assert error.value.resource is connection
    assert cinderlib.Connection.get_by_id(connection.id).attach_status == (
        'error_detaching')
    assert volume.status == 'in-use'
    del driver.fail_on['terminate_connection']
    volume.disconnect(connection)
    assert volume.status == 'available'


def test_local_attach_and_detach(driver, volume):
    connection = volume.attach()
    assert volume.local_attach is connection
    assert connection.attached
    assert os.path.exists(connection.path)
    assert connection.device['path'] == connection.path
    assert volume.attach() is connection
    volume.detach()
    assert volume.local_attach is None
    assert not connection.attached
    assert volume.status == 'available'
    assert calls(driver, 'remove_export') == [('remove_export', volume.id)]


def test_detach_when_not_attached_raises_not_local(volume):
    with pytest.raises(exception.NotLocal):
        volume.detach()


def test_extend_attached_volume_grows_local_device(driver, volume):
    volume.attach()
    assert volume.extend(2) == os.path.getsize(volume.local_attach.path)
    volume.detach()


def test_cleanup_disconnects_everything(driver, volume, connector):
    volume.connect(connector)
    volume.attach()
    volume.cleanup()
    assert volume.connections == []
    assert volume.local_attach is None
    assert volume.status == 'available'
    volume.delete()


def test_connection_not_found(backend):
    with pytest.raises(exception.ConnectionNotFound):
        cinderlib.Connection.get_by_id('5e3b1c4e-27a4-4b8a-9d38-7a8f1c1c2d11')


def test_failed_attach_reports_its_own_error_not_the_cleanups(
        volume, monkeypatch):
    """The device is unusable, and undoing the attach fails too: the
    caller learns why the attach failed."""
    from os_brick.initiator.connectors import local

    def unusable(self, connection_properties):
        os.remove(connection_properties['device_path'])
        return {'path': connection_properties['device_path']}

    def failing(self, *args, **kwargs):
        raise RuntimeError('cleanup failed')

    monkeypatch.setattr(local.LocalConnector, 'connect_volume', unusable)
    monkeypatch.setattr(local.LocalConnector, 'disconnect_volume', failing)
    with pytest.raises(exception.VolumeDriverException,
                       match='is not usable'):
        volume.attach()
    assert volume.local_attach is None


@pytest.mark.parametrize('change', [
    lambda info: info['connector'].update(host='x' * 256),
    lambda info: info['connector'].update(extra={1: 'x'}),
    lambda info: info['connector'].update(extra=float('nan')),
    lambda info: info.update(device={'path': object()}),
    lambda info: info.update(device='/dev/sdb'),
])
def test_save_checks_what_changed_in_place_after_connect(
        volume, connector, change):
    """save() skips checking the values it (or connect) checked already,
    never values changed in place since, even equal-looking ones."""
    connection = volume.connect(connector)
    connection.save()  # unchanged: nothing to check again
    change(connection.connection_info)
    with pytest.raises((exception.InvalidArgument,
                        exception.InvalidArgumentType)):
        connection.save()
    with pytest.raises((exception.InvalidArgument,
                        exception.InvalidArgumentType)):
        connection.disconnect()


def test_save_checks_a_connector_the_driver_changed(driver, volume,
                                                    connector, monkeypatch):
    """A driver that changes the connector it is given during the export
    does not get it stored unchecked by the next save."""
    export = driver.create_export

    def changing_export(context, vol, given):
        given['extra'] = {1: 'not JSON'}
        return export(context, vol, given)

    monkeypatch.setattr(driver, 'create_export', changing_export)
    connection = volume.connect(connector)
    with pytest.raises(exception.InvalidArgumentType):
        connection.save()


@pytest.mark.parametrize('access_mode', [None, 'ro'])
def test_connect_stores_what_cinders_setters_would(driver, volume, connector,
                                                   monkeypatch, access_mode):
    """connect() builds the attachment and sets the statuses without the
    fields' coercion (values it made or checked): the objects hold what
    Cinder's constructor and setters would have stored."""
    from oslo_versionedobjects import fields as ovo_fields

    from cinderlib.cinder import ovo as cinder_ovo
    initialize = driver.initialize_connection

    def initialize_connection(vol, given):
        info = initialize(vol, given)
        if access_mode:  # the driver's mode is the connection's
            info['data']['access_mode'] = access_mode
        return info

    monkeypatch.setattr(driver, 'initialize_connection',
                        initialize_connection)
    connection = volume.connect(connector, mountpoint='/mnt/a')
    ovo = connection._ovo
    names = [name for name in cinder_ovo.plain_fields(type(ovo))
             if ovo.obj_attr_is_set(name)]
    built = cinder_ovo.new_attachment(volume.backend.context, **{
        name: getattr(ovo, name) for name in names})
    for name in names:
        value, expected = getattr(ovo, name), getattr(built, name)
        assert (type(value), value) == (type(expected), expected), name
        if isinstance(value, ovo_fields.CoercedDict):
            # Adding to it later coerces as the setter's dict does.
            assert (value._element_type, value._field) == (
                expected._element_type, expected._field), name
    assert connection.attach_mode == (access_mode or 'rw')
    assert ovo.obj_what_changed() == set()  # saved
    for name, value in (('status', 'in-use'), ('attach_status', 'attached')):
        assert type(getattr(volume._ovo, name)) is str
        assert getattr(volume._ovo, name) == value
    assert volume._ovo.obj_what_changed() == set()


def test_set_valid_is_the_setter_without_its_coercion(volume):
    from cinderlib.cinder import ovo as cinder_ovo
    ovo, other = volume._ovo, cinderlib.Volume(volume)._ovo
    ovo.obj_reset_changes()
    other.obj_reset_changes()
    cinder_ovo.set_valid(ovo, 'status', 'in-use')
    other.status = 'in-use'
    assert ovo.status == other.status == 'in-use'
    assert ovo.obj_what_changed() == other.obj_what_changed() == {'status'}


def test_a_connector_may_be_any_mapping(volume, connector):
    # Checked and copied as plain dicts whatever mapping holds it (the
    # dicts skip the generic mapping checks).
    import collections
    import types
    given = types.MappingProxyType(collections.OrderedDict(
        connector, extra=types.MappingProxyType({'nested': [1, 'a']})))
    connection = volume.connect(given)
    stored = connection.connector_info
    assert stored == dict(connector, extra={'nested': [1, 'a']})
    assert type(stored) is type(stored['extra']) is dict
    with pytest.raises(TypeError):
        volume.connect(types.MappingProxyType({'host': 'x', 'bad': {1}}))
