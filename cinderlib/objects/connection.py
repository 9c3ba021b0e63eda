"""Connections: a volume exported to a host, and its local attachment."""

from __future__ import annotations

import logging
import marshal
from typing import TYPE_CHECKING, Any, Mapping, Optional, cast

from cinderlib import _runtime
from cinderlib import connectors
from cinderlib import exception
from cinderlib import locks
from cinderlib import validation
from cinderlib._runtime import AnyBackend
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.objects import base
from cinderlib.states import OWN_ATTACHMENTS, AttachStatus, Status

if TYPE_CHECKING:
    from cinderlib.objects.volume import Volume

LOG = logging.getLogger(__name__)


# Fields of a connection that connect() sets itself.
_SET_BY_CONNECT = ('connector', 'connection_info', 'volume', 'status',
                   'attach_status', 'detach_time', 'deleted', 'deleted_at')


class Connection(base.VolumeChild):
    """A volume's export to one host, wrapping ``objects.VolumeAttachment``.

    ``connection_info`` is ``{'conn': <driver's initialize_connection
    result>, 'connector': <host's connector dict>, 'device': <os-brick
    connect_volume result, or None while not attached>}``.
    """

    KIND = 'connection'
    OVO_NAME = 'VolumeAttachment'
    STATUS_FIELD = 'attach_status'
    _SKIP_IN_JSON = ('volume',)

    # Whether disconnect() already terminated the export on the driver.
    _unexported = False
    # What save() last checked of the fields callers may change in place
    # (see _checked_form).
    _checked: Optional[bytes] = None

    @staticmethod
    def _stored_by_id(plugin: Any, object_id: Any) -> list[Any]:
        found: list[Any] = plugin.get_connections(connection_id=object_id)
        return found

    def __init__(self, backend: AnyBackend | str | None,
                 volume: Optional[Volume] = None,
                 use_multipath: Optional[bool] = None,
                 device_scan_attempts: int = 3, **fields: Any) -> None:
        """A connection record the caller makes itself (``connect()``
        makes one by exporting the volume), to ``save()``::

            Connection(vol.backend, volume=vol, connector=connector_dict,
                       connection_info={'conn': ..., 'connector': ...},
                       status='attached', attach_mode='rw',
                       attached_host=..., mountpoint=..., instance_uuid=...)

        ``backend`` may be a loaded backend's name, or None for the
        volume's; ``volume_id`` may stand for ``volume``.  ``status`` is
        Cinder's ``attach_status`` (default ``'attached'``); the other
        fields are Cinder's VolumeAttachment fields, each checked.  The
        volume's list of connections is not changed.
        """
        if isinstance(backend, str):
            backend = base.backend_named(backend)
        if volume is not None:
            base.same_value(fields, 'volume_id', volume.id)
            volume_id = volume.id
            if backend is None:
                backend = volume.backend
            elif backend is not volume.backend:
                raise exception.InvalidArgument(
                    'backend', f'{backend!r} is not the backend of volume '
                               f'{volume.id}')
        else:
            given = fields.pop('volume_id', None)
            if not given or backend is None:
                raise exception.InvalidArgument(
                    'volume', 'a connection needs its volume (or its '
                              'backend and volume_id)')
            volume_id = self._new_id(given, 'volume_id')
        super().__init__(backend, _new_record(backend, volume_id, fields))
        self._set_local_state(volume, use_multipath, device_scan_attempts)
        self._mark_unstored()

    def _set_local_state(self, volume: Optional[Volume],
                         use_multipath: Optional[bool],
                         device_scan_attempts: int) -> None:
        self._volume: Optional[Volume] = None
        self._connector: Optional[Any] = None
        # os-brick's device info while attached by this process: it may
        # hold a live object (e.g. a librbd file-like), unlike the stored
        # copy in connection_info.
        self._live_device: Optional[dict[str, Any]] = None
        self.use_multipath = use_multipath
        self.device_scan_attempts = device_scan_attempts
        if volume is not None:
            self._bind_volume(volume)

    @classmethod
    def connect(cls, volume: Volume, connector: dict[str, Any],
                **kwargs: Any) -> 'Connection':
        """Export ``volume`` to the host ``connector`` describes.

        ``kwargs``: ``attach_mode`` (``'rw'``, ``'ro'``; default the
        driver's ``access_mode``, else ``'rw'``), ``use_multipath``,
        ``device_scan_attempts`` and Cinder's VolumeAttachment fields
        (``id``, ``attached_host``, ``mountpoint``, ``instance_uuid``...),
        except those the export sets (``connector``, ``connection_info``,
        ``attach_status``...).  ``id`` must not be a stored connection's.
        """
        return cls._connect(volume, connector, kwargs)

    @classmethod
    def _connect(cls, volume: Volume, connector: dict[str, Any],
                 kwargs: dict[str, Any]) -> 'Connection':
        connector = validation.connector(connector)
        volume_id = volume.id
        (use_multipath, scan_attempts, attach_mode, given_id, connection_id,
         fields) = _connect_arguments(volume_id, kwargs)
        backend = volume.backend
        with locks.locked(volume_id):
            volume._require_existing()
            # Loaded before this one is recorded.
            first = not volume.connections
            # Recorded before the driver exports anything, so that a crash
            # in between leaves a trace for Backend.recover() to undo.
            now = cinder_ovo.utcnow()
            # Every value is valid as it is (made here, or checked above).
            ovo = cinder_ovo.new_attachment_fast(backend.context, {
                'id': connection_id, 'volume_id': volume_id,
                'attach_status': AttachStatus.ATTACHING,
                'attach_mode': attach_mode or 'rw', 'connector': connector,
                'connection_info': {'conn': {}, 'connector': connector,
                                    'device': None},
                'attached_host': connector.get('host'), 'attach_time': now,
                'created_at': now, **fields})
            connection = cls._from_ovo(backend, ovo, volume)
            if 'attached_host' not in fields:  # from the connector checked
                # Before the driver calls: a driver changing the
                # connector makes the next save() check it again.
                connection._checked = _checked_form(
                    ovo.attached_host, connector, None)
            connection.use_multipath = use_multipath
            connection.device_scan_attempts = scan_attempts
            if given_id:  # a new random UUID is no stored connection's
                connection._refuse_existing()
            connection._mark_unstored()
            connection._save_as_made()
            try:
                conn_info = volume._export(connector, first)
            except Exception:
                connection._delete_record_quietly()
                raise
            data = conn_info.setdefault('data', {})
            attach_mode = attach_mode or data.get('access_mode') or 'rw'
            data['access_mode'] = attach_mode
            if type(attach_mode) is str:  # what the field stores of it
                cinder_ovo.set_valid(ovo, 'attach_mode', attach_mode)
            else:
                ovo.attach_mode = attach_mode
            cinder_ovo.set_valid(ovo, 'attach_status', AttachStatus.ATTACHED)
            cinder_ovo.set_coerced(ovo, 'connection_info', {
                'conn': conn_info, 'connector': connector, 'device': None})
            if getattr(volume.persistence, 'transactional', False):
                cls._record_attached_together(volume, connection)
            else:
                try:
                    connection._save_as_made()
                except Exception:  # unrecorded: take the export back
                    volume._unexport_quietly(connection)
                    raise
                cls._volume_attached(volume, connection)
                volume.save()
        return connection

    @staticmethod
    def _volume_attached(volume: Volume, connection: 'Connection') -> None:
        volume._add_connection(connection)
        ovo = volume._ovo
        if ovo.status not in OWN_ATTACHMENTS:
            cinder_ovo.set_valid(ovo, 'status', Status.IN_USE)
        cinder_ovo.set_valid(ovo, 'attach_status', AttachStatus.ATTACHED)

    @classmethod
    def _record_attached_together(cls, volume: Volume,
                                  connection: 'Connection') -> None:
        """Store the exported connection and its attached volume in one
        transaction (one commit): both, or neither, and then the export
        is taken back and the volume left as it was."""
        status = volume._ovo.status
        attach_status = volume._ovo.attach_status
        cls._volume_attached(volume, connection)
        try:
            volume.persistence.set_objects([connection, volume])
        except Exception:  # unrecorded: take the export back
            volume._remove_connection(connection)
            volume._ovo.status = status
            volume._ovo.attach_status = attach_status
            volume._unexport_quietly(connection)
            raise

    @classmethod
    def _from_ovo(cls, backend: AnyBackend, ovo: Any,
                  volume: Optional[Volume] = None) -> 'Connection':
        connection = cls.__new__(cls)
        base.Resource.__init__(connection, backend, ovo)
        connection._set_local_state(volume, None, 3)
        return connection

    # -- attributes -----------------------------------------------------------
    @property
    def connection_info(self) -> dict[str, Any]:
        """``{'conn': ..., 'connector': ..., 'device': ...}``, the dict
        stored: changes made to it in place are saved by ``save()``."""
        info = self._ovo.connection_info
        if info is None:
            info = self._ovo.connection_info = {
                'conn': {}, 'connector': {}, 'device': None}
        return cast('dict[str, Any]', info)

    @property
    def conn_info(self) -> dict[str, Any]:
        """The driver's ``initialize_connection`` result."""
        return self.connection_info.get('conn') or {}

    @conn_info.setter
    def conn_info(self, value: Optional[dict[str, Any]]) -> None:
        conn = dict(value or {})
        data = conn.get('data')
        if isinstance(data, dict):  # the driver's access_mode follows ours
            data = conn['data'] = dict(data)
            mode = data.setdefault('access_mode', self.attach_mode)
            self._ovo.attach_mode = validation.attach_mode(mode)
        self._set_info('conn', conn)

    @property
    def connector_info(self) -> dict[str, Any]:
        """The connector dict of the host connected: the stored dict, so
        that changes made to it in place are saved by ``save()`` (checked
        then as ``connect()`` checks a connector)."""
        info = self.connection_info
        if not isinstance(info.get('connector'), dict):
            info['connector'] = {}
        return cast('dict[str, Any]', info['connector'])

    @connector_info.setter
    def connector_info(self, value: dict[str, Any]) -> None:
        self._set_info('connector', validation.connector(value))

    def _set_info(self, key: str, value: Any) -> None:
        # A new dict: Cinder's change tracking sees it (not a change made
        # in place).
        self._ovo.connection_info = dict(self.connection_info, **{key: value})

    @property
    def protocol(self) -> Optional[str]:
        return self.conn_info.get('driver_volume_type')

    @property
    def device(self) -> Optional[dict[str, Any]]:
        """The attached device (os-brick's ``connect_volume`` result), as
        ``attach()`` or ``device_attached()`` recorded it; None while not
        attached."""
        return self._live_device or self.connection_info.get('device')

    @device.setter
    def device(self, value: Optional[dict[str, Any]]) -> None:
        self._record_device(value)

    @property
    def path(self) -> Any:
        """What to open for I/O once attached: a path (a block device, or a
        file for the file backend), or for RBD through librbd a file-like
        object (read/write/seek)."""
        device = self.device
        return device.get('path') if device else None

    @property
    def attached(self) -> bool:
        return bool(self.device)

    @property
    def connected(self) -> bool:
        return bool(self.conn_info)

    @property
    def attach_mode(self) -> str:
        return self._ovo.attach_mode or self.conn_info.get(
            'data', {}).get('access_mode') or 'rw'

    @property
    def connector(self) -> Any:
        """The os-brick connector for this connection's protocol."""
        if self._connector is None:
            self._connector = connectors.brick_connector(
                self.protocol, self.connector_info, self.use_multipath,
                self.device_scan_attempts, _runtime.options())
        return self._connector

    # -- operations -----------------------------------------------------------
    def attach(self) -> 'Connection':
        """Attach the volume on this host through os-brick."""
        with locks.locked(self.volume_id):
            device = self.connector.connect_volume(self.conn_info['data'])
            try:
                self._record_device(device)
                if not self._device_usable(device):
                    raise exception.VolumeDriverException(
                        message=f'device {device} of volume '
                                f'{self.volume_id} is not usable')
            except Exception:
                self._live_device = device  # what detach() disconnects
                self._detach_quietly()
                raise
            self.save()
            self.volume.local_attach = self
        return self

    def _detach_quietly(self) -> None:
        """Undo a failed attach; its own failure is logged, so that the
        caller gets the error that made the attach fail."""
        try:
            self.detach(force=True, ignore_errors=True)
        except Exception:
            LOG.warning('Could not detach volume %s after a failed attach',
                        self.volume_id, exc_info=True)

    def detach(self, force: bool = False, ignore_errors: bool = False,
               exc: Optional[Any] = None) -> None:
        """Undo ``attach`` on this host; the volume's ``local_attach`` is
        then cleared, so that ``volume.attach()`` attaches again."""
        if not self.attached:
            return
        with locks.locked(self.volume_id):
            self.connector.disconnect_volume(
                self.conn_info['data'], self.device, force=force,
                ignore_errors=ignore_errors)
            self._record_device(None)
            self.save()
            if self._volume is not None and (
                    self._volume.local_attach is self):
                self._volume.local_attach = None

    def device_attached(self, device: Optional[dict[str, Any]]) -> None:
        """Record ``device``, the device the caller attached for this
        connection (os-brick's ``connect_volume`` result, often obtained
        on another host: this host does not look at it), and save the
        connection.  ``device`` and ``connection_info['device']`` then
        return it, in other processes too; None records it detached."""
        with locks.locked(self.volume_id):
            self._require_existing()
            # Never saved back if another copy disconnected it (a plugin
            # whose objects only this process changes does not tell).
            if not self.persistence.get_connections(connection_id=self.id):
                raise self._not_found()
            self._record_device(device)
            self.save()

    def _record_device(self, device: Optional[dict[str, Any]]) -> None:
        """Put ``device`` in ``connection_info`` (what JSON can hold of
        it); this process keeps the device itself, which may hold a live
        object such as a librbd file-like."""
        if device is not None and not isinstance(device, Mapping):
            validation.device(device)  # raises, naming the field
        stored = validation.device(connectors.storable_device(device))
        self._live_device = device
        self._set_info('device', stored)

    def _device_usable(self, device: dict[str, Any]) -> bool:
        """Whether os-brick sees ``device``, attached here, as usable."""
        return connectors.device_usable(self.connector, device)

    def _delete_record_quietly(self) -> None:
        try:
            self.persistence.delete_connection(self)
        except Exception:
            LOG.warning('Could not delete the record of connection %s',
                        self.id, exc_info=True)

    def disconnect(self, force: bool = False) -> None:
        """Terminate the export; the last one also removes the export.
        Disconnecting twice does nothing."""
        volume = self.volume
        with locks.locked(volume.id):
            if not self._catch_up():  # disconnected by another process
                volume._remove_connection(self)
                return
            volume._catch_up()
            if not self._unexported:
                # Recorded first ('detached': Cinder has no 'detaching'), so
                # a crash in the driver call leaves a trace for
                # Backend.recover() to finish.
                self._save_status('attach_status', AttachStatus.DETACHED)
                try:
                    volume._unexport(self, force)
                except Exception as exc:
                    self._ovo.attach_status = AttachStatus.ERROR_DETACHING
                    self._fail(exc, None)
                    raise
                # If the record cannot be deleted now, disconnecting again
                # only deletes it.
                self._unexported = True
            self.persistence.delete_connection(self)
            volume._remove_connection(self)
            if not volume.connections:
                ovo = volume._ovo
                if ovo.status not in OWN_ATTACHMENTS:
                    cinder_ovo.set_valid(ovo, 'status', Status.AVAILABLE)
                cinder_ovo.set_valid(ovo, 'attach_status',
                                     AttachStatus.DETACHED)
            volume.save()

    def extend(self) -> Optional[int]:
        """Make the local device see the volume's new size, the handle
        ``path`` gives included (an open librbd image is refreshed);
        returns the size in bytes this host sees."""
        return connectors.extend_device(self.connector, self.conn_info,
                                        self.device,
                                        self.volume.size * 1024 ** 3)

    @classmethod
    def _not_found_error(cls, object_id: str) -> Exception:
        error: Exception = exception.ConnectionNotFound(
            filter=f'id = {object_id}')
        return error

    def save(self) -> None:
        """Store the connection; what the caller may have changed in place
        (the connector, the device) is checked first."""
        if '_ovo' in self.__dict__:  # else unchanged since it was read
            self._check_stored_fields()
        super().save()

    def _save_as_made(self) -> None:
        """``save()`` without checking again what ``connect()`` made from
        the values it checked, before any caller code could change it."""
        super().save()

    def _check_stored_fields(self) -> None:
        ovo = self._ovo
        info = self.connection_info
        host = ovo.attached_host
        connector = info.get('connector') or {}
        device = info.get('device')
        form = _checked_form(host, connector, device)
        if form is not None and form == self._checked:
            return  # the very values checked last time
        validation.text(host, 'attached_host', validation.MAX_HOST_LENGTH)
        validation.connector(connector, "connection_info['connector']")
        validation.device(device, "connection_info['device']")
        self._checked = form

    def _load_lazy(self) -> None:
        self.volume

    def _to_primitive(self, simplified: bool,
                      copy: bool = True) -> dict[str, Any]:
        primitive = super()._to_primitive(simplified, copy)
        if not simplified:
            primitive['versioned_object.data']['volume'] = (
                self.volume._to_primitive(True, copy))
        return primitive


def _connect_arguments(volume_id: str, kwargs: dict[str, Any]) -> tuple[
        Optional[bool], int, Optional[str], Optional[str], str,
        dict[str, Any]]:
    """``use_multipath``, ``device_scan_attempts``, ``attach_mode``, the
    connection id given (or None), the connection's id (that one, checked,
    or a new one) and the VolumeAttachment fields of connect()'s keyword
    arguments, each checked."""
    if not kwargs:
        return None, 3, None, None, base.new_uuid4(), {}
    kwargs = dict(kwargs)
    use_multipath = kwargs.pop('use_multipath', None)
    scan_attempts = kwargs.pop('device_scan_attempts', 3)
    base.same_value(kwargs, 'volume_id', volume_id)
    for name in _SET_BY_CONNECT:
        if name in kwargs:
            raise exception.InvalidArgument(
                name, 'is set by connect() from the connector and the '
                      'export')
    attach_mode = kwargs.pop('attach_mode', None)
    if attach_mode is not None:
        validation.attach_mode(attach_mode)
    given_id = kwargs.pop('id', None)
    connection_id = Connection._new_id(given_id)
    fields = cinder_ovo.check_fields(
        cinder_ovo.objects_module().VolumeAttachment, kwargs, 'connection')
    return (use_multipath, scan_attempts, attach_mode, given_id,
            connection_id, fields)


def _checked_form(host: Any, connector: Any, device: Any) -> Optional[bytes]:
    """The attached host, connector and device as bytes equal only for
    equal values of exactly the same builtin types (marshal refuses
    subclasses and other types: None then), so that a save can tell, for
    a few microseconds, that they are the values it checked last time,
    even if callers changed the dicts in place meanwhile."""
    try:
        return marshal.dumps((host, connector, device), 2)
    except ValueError:  # not plain values, or nested too deeply
        return None


def _new_record(backend: AnyBackend, volume_id: str,
                fields: dict[str, Any]) -> Any:
    """The Cinder attachment of a connection the caller makes itself."""
    fields = dict(fields)
    if 'status' in fields:  # what the retired library called it
        status = fields.pop('status')
        if fields.setdefault('attach_status', status) != status:
            raise exception.InvalidArgument(
                'status', 'given twice, as status and as attach_status, '
                          'with different values')
    connector = fields.pop('connector', None)
    if connector is not None:
        connector = validation.connector(connector)
    info = fields.pop('connection_info', None)
    info = {} if info is None else validation.connection_info(info)
    if not info.get('connector'):
        info['connector'] = connector or {}
    if connector is None:
        connector = info['connector']
    info.setdefault('conn', {})
    info.setdefault('device', None)
    data = (info['conn'] or {}).get('data')
    attach_mode = fields.pop('attach_mode', None)
    if attach_mode is None:
        attach_mode = (data or {}).get('access_mode') or 'rw'
    attach_mode = validation.attach_mode(attach_mode)
    if data is not None:
        data['access_mode'] = attach_mode
    connection_id = base.Resource._new_id(fields.pop('id', None))
    checked = cinder_ovo.check_fields(
        cinder_ovo.objects_module().VolumeAttachment, fields, 'connection')
    now = cinder_ovo.utcnow()
    values = {'attach_status': AttachStatus.ATTACHED, 'attach_time': now,
              'created_at': now, 'attached_host': connector.get('host'),
              **checked}
    return cinder_ovo.new_attachment(
        backend.context, id=connection_id, volume_id=volume_id,
        attach_mode=attach_mode, connector=connector, connection_info=info,
        **values)
