"""Connections: a volume exported to a host, and its local attachment."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional, cast

from cinderlib import cinder_glue
from cinderlib import connectors
from cinderlib import exception
from cinderlib import locks
from cinderlib import validation
from cinderlib.objects import base

if TYPE_CHECKING:
    from cinderlib.backend import Backend
    from cinderlib.objects.volume import Volume
    from cinderlib.serialization import UnloadedBackend

LOG = logging.getLogger(__name__)


class Connection(base.VolumeChild):
    """A volume's export to one host, wrapping ``objects.VolumeAttachment``.

    ``connection_info`` is ``{'conn': <driver's initialize_connection
    result>, 'connector': <host's connector dict>, 'device': <os-brick
    connect_volume result, or None while not attached>}``.
    """

    _SKIP_IN_JSON = ('volume',)
    # Whether disconnect() already terminated the export on the driver.
    _unexported = False

    def __init__(self, backend: Backend | UnloadedBackend, ovo: Any,
                 volume: Optional[Volume] = None,
                 use_multipath: Optional[bool] = None,
                 device_scan_attempts: int = 3) -> None:
        super().__init__(backend, ovo)
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
        """Export ``volume`` to the host ``connector`` describes."""
        connector = validation.connector(connector)
        use_multipath = kwargs.pop('use_multipath', None)
        scan_attempts = kwargs.pop('device_scan_attempts', 3)
        attach_mode = kwargs.pop('attach_mode', None)
        if attach_mode not in (None, 'rw', 'ro'):
            raise exception.InvalidArgument(
                'attach_mode', f"must be 'rw' or 'ro', got {attach_mode!r}")
        unknown = set(kwargs) - set(
            cinder_glue.objects_module().VolumeAttachment.fields)
        if unknown:
            raise exception.InvalidArgument(sorted(unknown)[0],
                                            'not a connection attribute')
        with locks.locked(volume.id):
            volume._require_existing()
            volume.connections  # loaded before this one is recorded
            # Recorded before the driver exports anything, so that a crash
            # in between leaves a trace for Backend.recover() to undo.
            kwargs.setdefault('id', cls._new_id(None))
            ovo = cinder_glue.new_attachment(
                volume.backend.context, volume_id=volume.id,
                attached_host=connector.get('host'),
                attach_status='attaching', attach_mode=attach_mode or 'rw',
                attach_time=cinder_glue.utcnow(), connector=connector,
                connection_info={'conn': {}, 'connector': connector,
                                 'device': None},
                **kwargs)
            connection = cls(volume.backend, ovo, volume,
                             use_multipath=use_multipath,
                             device_scan_attempts=scan_attempts)
            connection._mark_unstored()
            connection.save()
            try:
                conn_info = volume._export(connector)
            except Exception:
                connection._delete_record_quietly()
                raise
            data = conn_info.setdefault('data', {})
            attach_mode = attach_mode or data.get('access_mode') or 'rw'
            data['access_mode'] = attach_mode
            ovo.attach_mode = attach_mode
            ovo.attach_status = 'attached'
            ovo.connection_info = {'conn': conn_info, 'connector': connector,
                                   'device': None}
            try:
                connection.save()
            except Exception:  # unrecorded: take the export back
                volume._unexport_quietly(connection)
                raise
            volume._add_connection(connection)
            volume._ovo.status = 'in-use'
            volume._ovo.attach_status = 'attached'
            volume.save()
        return connection

    @classmethod
    def _from_ovo(cls, backend: Backend | UnloadedBackend, ovo: Any,
                  volume: Optional[Volume] = None) -> 'Connection':
        return cls(backend, ovo, volume)

    # -- attributes -----------------------------------------------------------
    @property
    def connection_info(self) -> dict[str, Any]:
        return cast('dict[str, Any]', self._ovo.connection_info)

    @property
    def conn_info(self) -> dict[str, Any]:
        """The driver's ``initialize_connection`` result."""
        return self.connection_info.get('conn') or {}

    @property
    def connector_info(self) -> dict[str, Any]:
        return self.connection_info.get('connector') or {}

    @property
    def protocol(self) -> Optional[str]:
        return self.conn_info.get('driver_volume_type')

    @property
    def device(self) -> Optional[dict[str, Any]]:
        """os-brick's connect_volume result while attached."""
        return self._live_device or self.connection_info.get('device')

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
                self.device_scan_attempts, self.backend.global_options())
        return self._connector

    # -- operations -----------------------------------------------------------
    def attach(self) -> 'Connection':
        """Attach the volume on this host through os-brick."""
        with locks.locked(self.volume_id):
            device = self.connector.connect_volume(self.conn_info['data'])
            self._live_device = device
            self.connection_info['device'] = connectors.storable_device(
                device)
            self._ovo.connection_info = dict(self.connection_info)
            try:
                if not self.device_attached(device):
                    raise exception.VolumeDriverException(
                        message=f'device {device} of volume '
                                f'{self.volume_id} is not usable')
            except Exception:
                self.detach(force=True, ignore_errors=True)
                raise
            self.save()
            self.volume.local_attach = self
        return self

    def detach(self, force: bool = False, ignore_errors: bool = False,
               exc: Optional[Any] = None) -> None:
        """Undo ``attach`` on this host."""
        if not self.attached:
            return
        with locks.locked(self.volume_id):
            self.connector.disconnect_volume(
                self.conn_info['data'], self.device, force=force,
                ignore_errors=ignore_errors)
            self._live_device = None
            self.connection_info['device'] = None
            self._ovo.connection_info = dict(self.connection_info)
            self.save()

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
                self._save_status('attach_status', 'detached')
                try:
                    volume._unexport(self, force)
                except Exception as exc:
                    self._ovo.attach_status = 'error_detaching'
                    self._fail(exc, None)
                    raise
                # If the record cannot be deleted now, disconnecting again
                # only deletes it.
                self._unexported = True
            self.persistence.delete_connection(self)
            volume._remove_connection(self)
            if not volume.connections:
                volume._ovo.status = 'available'
                volume._ovo.attach_status = 'detached'
            volume.save()

    def extend(self) -> Optional[int]:
        """Grow the local device after the volume grew; returns bytes."""
        return connectors.extend_device(self.connector, self.conn_info,
                                        self.device)

    def device_attached(self, device: dict[str, Any]) -> bool:
        """Whether os-brick sees ``device`` as a usable device."""
        return connectors.device_usable(self.connector, device)

    def _not_found(self) -> Exception:
        error: Exception = exception.ConnectionNotFound(
            filter=f'id = {self.id}')
        return error

    def refresh(self) -> None:
        self._forget_local_state()
        found = self.persistence.get_connections(connection_id=self.id)
        if not found:
            raise exception.ConnectionNotFound(filter=f'id = {self.id}')
        if found[0] is not self:
            self._ovo = found[0]._ovo
            self._take_plugin_attributes(found[0])

    def save(self) -> None:
        self.persistence.set_connection(self)

    def _load_lazy(self) -> None:
        self.volume

    def _to_primitive(self, simplified: bool) -> dict[str, Any]:
        primitive = super()._to_primitive(simplified)
        if not simplified:
            primitive['versioned_object.data']['volume'] = (
                self.volume._to_primitive(simplified=True))
        return primitive

    @classmethod
    def get_by_id(cls, connection_id: str) -> 'Connection':
        found = base.persistence().get_connections(
            connection_id=connection_id)
        if not found:
            raise exception.ConnectionNotFound(filter=f'id = {connection_id}')
        return found[0]
