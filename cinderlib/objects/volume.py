"""Volumes: create, delete, extend, clone, snapshot, connect and attach."""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional, cast

from cinderlib import _runtime
from cinderlib import connectors
from cinderlib import exception
from cinderlib import jsontext
from cinderlib import locks
from cinderlib import validation
from cinderlib._runtime import AnyBackend, LoadedBackend
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.objects import adoption
from cinderlib.objects import base
from cinderlib.objects import migration
from cinderlib.objects import revert
from cinderlib.objects.connection import Connection
from cinderlib.objects.snapshot import Snapshot
from cinderlib.states import AttachStatus, Status

LOG = logging.getLogger(__name__)
GiB = 1024 ** 3

# Keyword arguments of Volume() that are not Cinder Volume fields.
_CREATE_ARGUMENTS = ('name', 'description', 'pool_name', 'extra_specs',
                     'qos_specs', 'size')
# Fields of a volume's own volume type (see extra_specs and qos_specs).
_TYPE_FIELDS = ('volume_type', 'volume_type_id')


class Volume(base.Resource):
    """A volume on a backend, wrapping Cinder's ``objects.Volume``."""

    KIND = 'volume'
    OVO_NAME = 'Volume'
    _SKIP_IN_JSON = ('snapshots', 'volume_attachment')

    @staticmethod
    def _stored_by_id(plugin: Any, object_id: Any) -> list[Any]:
        found: list[Any] = plugin.get_volumes(volume_id=object_id)
        return found

    def __init__(self, backend_or_vol: LoadedBackend | Volume | str,
                 pool_name: Optional[str] = None, **kwargs: Any) -> None:
        """A volume not yet created: call ``create()``.

        ``backend_or_vol`` is a ``Backend`` (or a loaded backend's name),
        or a ``Volume`` whose backend, size, pool and specs the new volume
        takes unless given in kwargs.  ``kwargs`` are ``size`` (GiB, 1 if
        left out; a float is rounded up to a whole GiB), ``name``,
        ``description``, ``extra_specs``, ``qos_specs`` and Cinder's
        Volume fields (``id``, ``metadata``, ``bootable``,
        ``multiattach``, ``host``...), each checked.  Status fields are
        what ``save()`` records; ``create()`` sets them as it goes.
        """
        if isinstance(backend_or_vol, str):
            backend_or_vol = base.backend_named(backend_or_vol)
        if isinstance(backend_or_vol, Volume):
            source = backend_or_vol
            backend = source.backend
            kwargs.setdefault('size', source.size)
            kwargs.setdefault('extra_specs', source._extra_specs())
            kwargs.setdefault('qos_specs', source._qos_specs())
            if 'host' not in kwargs:
                pool_name = pool_name or source.pool_name
        else:
            backend = backend_or_vol
        made_id = kwargs.get('id') in (None, '')
        super().__init__(backend, self._new_ovo(backend, pool_name, kwargs))
        self._mark_unstored()
        if made_id:
            self._id_made_here = True
        self._snapshots: Optional[list[Snapshot]] = base.ChildList()
        self._connections: Optional[list[Connection]] = base.ChildList()
        self.local_attach: Optional[Connection] = None

    @classmethod
    def _new_ovo(cls, backend: AnyBackend,
                 pool_name: Optional[str], kwargs: dict[str, Any]) -> Any:
        kwargs = base.named_fields(kwargs)
        for name in _TYPE_FIELDS:
            if name in kwargs:
                raise exception.InvalidArgument(
                    name, 'cinderlib gives each volume a volume type of its '
                          'own: use extra_specs and qos_specs')
        volume_id = cls._new_id(kwargs.pop('id', None))
        size = validation.requested_size(kwargs.pop('size', 1))
        extra_specs = validation.string_dict(kwargs.pop('extra_specs', None),
                                             'extra_specs')
        qos_specs = validation.string_dict(kwargs.pop('qos_specs', None),
                                           'qos_specs')
        for field in validation.STORAGE_NAME_FIELDS:
            if kwargs.get(field) in (None, ''):  # none, as for ids
                kwargs.pop(field, None)
                continue
            # It names the volume on the storage (volume-<_name_id>): a
            # usable id, like the id it stands for, and a storage name
            # as load() requires it.
            kwargs[field] = validation.storage_name_field(
                cls._new_id(kwargs[field], field), field)
        host = _host(backend, pool_name, kwargs.pop('host', None))
        fields = cinder_ovo.check_fields(cinder_ovo.objects_module().Volume,
                                         kwargs, 'volume')
        context = backend.context
        values = {
            'display_name': '', 'display_description': '', 'metadata': {},
            'bootable': False, 'status': Status.CREATING,
            'attach_status': AttachStatus.DETACHED,
            'user_id': context.user_id,
            'project_id': context.project_id,
            'created_at': cinder_ovo.utcnow(), 'deleted': False,
            'availability_zone': backend.availability_zone,
            'multiattach': extra_specs.get('multiattach') == '<is> True',
            **fields,
            'id': volume_id, 'size': size, 'host': host,
            'volume_type_id': volume_id}
        volume_type = cinder_ovo.new_volume_type(context, volume_id,
                                                 extra_specs, qos_specs)
        # Every value is valid as it is (made here, or checked above).
        return cinder_ovo.new_volume_fast(context, volume_type, values)

    @classmethod
    def _from_ovo(cls, backend: AnyBackend,
                  ovo: Any) -> 'Volume':
        """Wrap an existing Cinder object (loading, persistence)."""
        volume = cls.__new__(cls)
        base.Resource.__init__(volume, backend, ovo)
        volume._snapshots = None
        volume._connections = None
        volume.local_attach = None
        return volume

    # -- attributes -----------------------------------------------------------
    @property
    def name(self) -> str:
        return cast(str, self._ovo.display_name)

    @name.setter
    def name(self, value: str) -> None:
        self._ovo.display_name = validation.text(value, 'name')

    @property
    def description(self) -> str:
        return cast(str, self._ovo.display_description)

    @description.setter
    def description(self, value: str) -> None:
        self._ovo.display_description = validation.text(
            value, 'description', validation.MAX_DESCRIPTION_LENGTH)

    @property
    def name_in_storage(self) -> str:
        """The volume's name on the storage (Cinder's ``volume-<id>``)."""
        return cast(str, self._ovo.name)

    @property
    def pool_name(self) -> str:
        return cast(str, self._ovo.host.partition('#')[2])

    def _extra_specs(self) -> dict[str, str]:
        volume_type = self._ovo.volume_type
        return dict(volume_type.extra_specs or {}) if volume_type else {}

    def _qos_specs(self) -> Optional[dict[str, str]]:
        volume_type = self._ovo.volume_type
        if volume_type is None or volume_type.qos_specs is None:
            return None
        return dict(volume_type.qos_specs.specs or {})

    @property
    def snapshots(self) -> list[Snapshot]:
        """This volume's snapshots (loaded from persistence on first use).

        A loop over them sees every snapshot there was when it started,
        even if it deletes them as it goes (see ``base.ChildList``).
        """
        if self._snapshots is None:
            self._set_children(
                self.persistence.get_snapshots(volume_id=self.id), None)
        elif type(self._snapshots) is not base.ChildList:
            self._snapshots = base.ChildList(self._snapshots)
        return cast('list[Snapshot]', self._snapshots)  # loaded above

    @property
    def connections(self) -> list[Connection]:
        """This volume's connections (loaded from persistence on first use).

        A loop over them sees every connection there was when it started,
        even if it disconnects them as it goes (see ``base.ChildList``).
        """
        if self._connections is None:
            self._set_children(
                None, self.persistence.get_connections(volume_id=self.id))
        elif type(self._connections) is not base.ChildList:
            self._connections = base.ChildList(self._connections)
        self._ovo  # built, with its volume_attachment list in step
        self._attachments_in_step()
        return cast('list[Connection]', self._connections)  # loaded above

    def _set_children(self, snapshots: Optional[list[Snapshot]],
                      connections: Optional[list[Connection]]) -> None:
        """Adopt snapshots and connections loaded from persistence."""
        if self._snapshots is None and snapshots is not None:
            self._snapshots = base.ChildList(snapshots)
            for snapshot in snapshots:
                snapshot._bind_volume(self)
        if self._connections is None and connections is not None:
            self._connections = base.ChildList(connections)
            for connection in connections:
                connection._bind_volume(self)
            if '_ovo' in self.__dict__:  # a list a driver lazy-loaded
                cinder_ovo.forget_field(self._ovo, 'volume_attachment')

    # -- operations -----------------------------------------------------------
    def create(self) -> 'Volume':
        """Create the volume on the backend.  If a stored volume has its
        id, ``AlreadyExists`` is raised before anything changes."""
        return self._create(lambda driver: driver.create_volume(self._ovo))

    def _create(self, driver_call: Callable[[Any], Any],
                *sources: base.Resource) -> 'Volume':
        ids = [self.id]
        if sources:
            ids.extend(source.id for source in sources)
        with locks.locked(*ids, in_process=self._in_process_ids()):
            return self._create_locked(driver_call, sources)

    def _create_locked(self, driver_call: Callable[[Any], Any],
                       sources: tuple[base.Resource, ...] = ()) -> 'Volume':
        """``_create`` once the caller holds the locks of this volume and
        of its ``sources``."""
        self._refuse_existing()
        for source in sources:
            source._require_existing()
        if self._ovo.status != Status.CREATING:  # a retry after an error
            self._ovo.status = Status.CREATING
        self.save()
        try:
            self._apply_update(driver_call(self.backend.driver))
            self._ovo.status = Status.AVAILABLE
        except Exception as exc:
            self._fail(exc, Status.ERROR)
            raise
        self.save()
        return self

    def _apply_update(self, model_update: Optional[dict[str, Any]]) -> None:
        for field, value in (model_update or {}).items():
            if field in self._ovo.fields:
                setattr(self._ovo, field, value)
            else:
                LOG.debug('Ignoring unknown model update %s of volume %s',
                          field, self.id)

    def delete(self) -> None:
        """Delete the volume; refused while it has snapshots or connections.

        Deleting a volume that is already deleted does nothing.
        """
        with locks.locked(self.id):
            if not self._catch_up() or self._ovo.deleted:
                return
            if self.persistence.shared:  # others may have added some
                self._snapshots = self._connections = None
            if self.snapshots:
                raise exception.InvalidVolume(
                    reason=f'volume {self.id} has snapshots; delete them '
                           f'first')
            if self.connections:
                raise exception.InvalidVolume(
                    reason=f'volume {self.id} is connected; disconnect it '
                           f'first')
            self._delete(lambda driver: driver.delete_volume(self._ovo))

    def extend(self, size: float) -> Optional[int]:
        """Grow the volume to ``size`` GiB (a float is rounded up to a
        whole GiB); returns the new size in bytes.

        A locally attached volume's device is grown too, and its size as
        seen by this host is returned.  A failure leaves the volume in
        ``error`` (``previous_status`` holds the status it had); extending
        again completes it, and the status then follows the connections:
        ``in-use`` or ``available``.
        """
        size = validation.requested_size(size)
        with locks.locked(self.id):
            self._require_existing()
            ovo = self._ovo
            if size <= ovo.size:
                raise exception.InvalidArgument(
                    'size', f'must be larger than the current size '
                            f'({ovo.size} GiB) of volume {self.id}, got '
                            f'{size}')
            before = ovo.previous_status
            if ovo.status != Status.ERROR:  # an earlier failure recorded it
                ovo.previous_status = ovo.status
            try:
                self._save_status('status', Status.EXTENDING)
            except Exception:
                ovo.previous_status = before
                raise
            try:
                self.backend.driver.extend_volume(ovo, size)
            except Exception as exc:
                self._fail(exc, Status.ERROR)
                raise
            ovo.size = size
            ovo.status = (Status.IN_USE if self.connections
                          else Status.AVAILABLE)
            ovo.previous_status = None
            self.save()
            if self.local_attach:
                return self.local_attach.extend()
            return size * GiB

    def revert_to_snapshot(self, snapshot: Snapshot) -> None:
        """Make the volume's data its latest snapshot's, as Cinder does.

        Only the latest snapshot, taken at the volume's current size, of a
        volume that is ``available`` (or ``error`` after a failed revert);
        through the driver's ``revert_to_snapshot``, or by copying a
        temporary volume made from the snapshot where the driver has none.
        The volume is ``reverting`` and the snapshot ``restoring`` until
        it ends; a failure leaves the volume ``error`` (see
        :mod:`cinderlib.objects.revert`).
        """
        revert.revert_to_snapshot(self, snapshot)

    def clone(self, **new_vol_attrs: Any) -> 'Volume':
        """A new volume with this one's data; ``size`` may be larger."""
        # The size is read under the lock: an extend running meanwhile
        # would otherwise make the clone smaller than its source.  Both
        # locks are taken together (never one inside the other, which
        # could deadlock with another process taking them in the other
        # order), so the clone's id is made first.
        given_id = new_vol_attrs.pop('id', None)
        made_id = given_id in (None, '')
        new_id = self._new_id(given_id)
        # A new random id: no other process can know it (see
        # base.Resource._in_process_ids).
        in_process = ((new_id,) if made_id and getattr(
            self.persistence, 'private', False) else ())
        with locks.locked(self.id, new_id, in_process=in_process):
            self._require_existing()
            base.same_value(new_vol_attrs, 'source_volid', self.id)
            new_volume = Volume(self, id=new_id, **new_vol_attrs)
            new_volume._id_made_here = made_id
            if new_volume.size < self._ovo.size:
                raise exception.InvalidArgument(
                    'size', f'a clone cannot be smaller than its source, '
                            f'volume {self.id} ({self._ovo.size} GiB), got '
                            f'{new_volume.size}')
            new_volume._ovo.source_volid = self.id
            # Both locks are held, the source checked above.
            return new_volume._create_locked(
                lambda driver: driver.create_cloned_volume(new_volume._ovo,
                                                           self._ovo))

    def migrate(self, backend: LoadedBackend | str,
                pool_name: Optional[str] = None,
                progress: Optional[Callable[[int, int], None]] = None
                ) -> 'Volume':
        """Move the volume to ``backend`` (a ``Backend`` or a loaded
        backend's name; any driver), on ``pool_name`` (default: its first
        pool), as Cinder's host-assisted migration does: a volume is made
        there, both are attached here, the data copied (zero blocks
        skipped), then this volume keeps its id and names the new storage
        (``_name_id``), and the old storage is deleted.  Returns this
        volume.  ``progress(bytes_done, bytes_total)`` is called as the
        copy advances.

        Refused (``InvalidVolume``, nothing changed) for a volume that is
        not ``available``, is connected, has snapshots, or is already on
        that backend and pool.  Until the copy is complete this volume
        stays the volume of record: a failure deletes the new volume
        (``migration_status`` is then ``error``), and after a crash
        ``Backend.recover()`` does.
        """
        return migration.migrate(self, backend, pool_name, progress)

    def create_snapshot(self, name: str = '', description: str = '',
                        **kwargs: Any) -> Snapshot:
        """Create a snapshot of this volume."""
        snapshot = Snapshot(self, name=name, description=description,
                            **kwargs)
        snapshot.create()
        return snapshot

    def manage_existing_snapshot(self, existing_ref: dict[str, Any],
                                 name: str = '', description: str = '',
                                 **kwargs: Any) -> Snapshot:
        """Adopt a snapshot of this volume that exists on the storage, by
        the driver's reference (``{'source-name': NAME}``...); the other
        arguments are as for ``create_snapshot``.  See
        :mod:`cinderlib.objects.adoption`."""
        adoption.require_snapshot_support(self.backend)
        snapshot = Snapshot(self, name=name, description=description,
                            **kwargs)
        return adoption.manage_snapshot(snapshot, existing_ref)

    def unmanage(self) -> None:
        """Stop managing the volume: the driver's ``unmanage``, then the
        record is removed; its data stays on the storage.  Refused while
        it has snapshots or connections."""
        adoption.unmanage_volume(self)

    def connect(self, connector_dict: dict[str, Any],
                **ovo_fields: Any) -> Connection:
        """Export the volume to the host ``connector_dict`` describes."""
        return Connection._connect(self, connector_dict, ovo_fields)

    def disconnect(self, connection: Connection,
                   force: bool = False) -> None:
        connection.disconnect(force)

    def attach(self) -> Connection:
        """Connect the volume to this host and attach it through os-brick."""
        if self.local_attach is not None:
            return self.local_attach
        return self._attach_here()

    def _attach_here(self, **connection_fields: Any) -> Connection:
        """A new local attachment, its connection made with
        ``connection_fields``; undone if os-brick cannot attach."""
        connector = connectors.local_connector_properties(_runtime.options())
        connection = self.connect(connector, **connection_fields)
        try:
            connection.attach()
        except Exception:
            connection.disconnect(force=True)
            raise
        self.local_attach = connection
        return connection

    def detach(self, force: bool = False,
               ignore_errors: bool = False) -> None:
        """Detach the local attachment and disconnect it."""
        if self.local_attach is None:
            raise exception.NotLocal(self.id)
        connection = self.local_attach
        connection.detach(force=force, ignore_errors=ignore_errors)
        connection.disconnect(force=force)
        self.local_attach = None

    def cleanup(self) -> None:
        """Detach and disconnect everything, ignoring errors."""
        if self.local_attach is not None:
            self.detach(force=True, ignore_errors=True)
        for connection in list(self.connections):
            connection.disconnect(force=True)

    def _adopt_state(self, other: base.Resource) -> None:
        super()._adopt_state(other)
        self._snapshots = self._connections = None

    @classmethod
    def _not_found_error(cls, object_id: str) -> Exception:
        error: Exception = exception.VolumeNotFound(volume_id=object_id)
        return error

    def _refreshed(self) -> None:
        self._snapshots = None
        self._connections = None

    # -- exports, used by Connection ------------------------------------------
    def _export(self, connector: dict[str, Any],
                first: bool) -> dict[str, Any]:
        """create_export + initialize_connection, as Cinder's manager does;
        ``first``: the volume has no other connection (a failure then
        removes the export)."""
        backend = self.backend
        driver = backend.driver
        context = backend.context
        try:
            driver.validate_connector(connector)
            self._apply_update(driver.create_export(context, self._ovo,
                                                    connector))
            try:
                return cast('dict[str, Any]', driver.initialize_connection(
                    self._ovo, connector))
            except Exception:
                if first:
                    self._remove_export_quietly()
                raise
        except Exception as exc:
            exc.resource = self  # type: ignore[attr-defined]
            self.save()
            raise

    def _remove_export_quietly(self) -> None:
        try:
            self.backend.driver.remove_export(self.backend.context, self._ovo)
        except Exception:
            LOG.warning('Could not remove the export of volume %s', self.id,
                        exc_info=True)

    def _unexport_quietly(self, connection: Any) -> None:
        """Undo an export whose connection could not be recorded."""
        try:
            self._unexport(connection, force=True)
        except Exception:
            LOG.warning('Could not undo the export of volume %s', self.id,
                        exc_info=True)

    def _unexport(self, connection: Any, force: bool) -> None:
        """terminate_connection; remove_export only for the last one."""
        backend = self.backend
        driver = backend.driver
        driver.terminate_connection(self._ovo, connection.connector_info,
                                    force=force)
        connection_id = connection.id
        if all(other is connection or other.id == connection_id
               for other in self.connections):
            driver.remove_export(backend.context, self._ovo)

    # -- bookkeeping used by Snapshot and Connection --------------------------
    def _add_snapshot(self, snapshot: Snapshot) -> None:
        if self._snapshots is not None and snapshot not in self._snapshots:
            self._snapshots.append(snapshot)
        cinder_ovo.forget_field(self._ovo, 'snapshots')

    def _remove_snapshot(self, snapshot: Snapshot) -> None:
        if self._snapshots is not None and snapshot in self._snapshots:
            self._snapshots.remove(snapshot)
        cinder_ovo.forget_field(self._ovo, 'snapshots')

    def _add_connection(self, connection: Connection) -> None:
        if self._connections is not None:
            self._connections.append(connection)
        self._attachments_in_step(replace=True)

    def _remove_connection(self, connection: Connection) -> None:
        if self._connections is not None and connection in self._connections:
            self._connections.remove(connection)
        self._attachments_in_step(replace=True)
        if self.local_attach is connection:
            self.local_attach = None

    def _attachments_in_step(self, replace: bool = False) -> None:
        """Make Cinder's ``volume_attachment`` list hold this volume's
        connections' own Cinder objects, as the retired library did:
        callers (Ember-CSI) add and remove them there too.  Left unset
        while the connections are not loaded: it then lazy-loads."""
        ovo = self.__dict__.get('_ovo')
        if ovo is None:
            return
        if self._connections is None:
            cinder_ovo.forget_field(ovo, 'volume_attachment')
            return
        if not replace and cinder_ovo.is_set(ovo, 'volume_attachment'):
            return
        # Set as saved, not through the field's setter: the list is made
        # here, of the connections' own attachments (no coercion needed).
        cinder_ovo.set_saved(ovo, 'volume_attachment', cinder_ovo.new_object(
            cinder_ovo.objects_module().VolumeAttachmentList, ovo._context,
            {'objects': [connection._ovo
                         for connection in self._connections]}))

    def _ovo_built(self) -> None:
        self._attachments_in_step()

    # -- serialization --------------------------------------------------------
    def _load_lazy(self) -> None:
        # Not through the properties: serializing an object that was not
        # rebuilt reuses its stored text (see base.Resource).
        self._set_children(
            self.persistence.get_snapshots(volume_id=self.id)
            if self._snapshots is None else None,
            self.persistence.get_connections(volume_id=self.id)
            if self._connections is None else None)

    def _primitive_text(self, simplified: bool) -> Optional[str]:
        text = super()._primitive_text(True)
        if text is None or simplified:
            return text
        lists = []
        for field, list_class, children in (
                ('snapshots', 'SnapshotList', self._snapshots),
                ('volume_attachment', 'VolumeAttachmentList',
                 self._connections)):
            if children is None:
                continue
            texts = [child._primitive_text(True) for child in children]
            if None in texts or not text.endswith(jsontext.PRIMITIVE_END):
                return None
            lists.append((field, cinder_ovo.list_primitive_text(
                list_class, cast('list[str]', texts))))  # no None: above
        return jsontext.add_fields(text, lists)

    def _to_primitive(self, simplified: bool,
                      copy: bool = True) -> dict[str, Any]:
        """Cinder's primitive; unless ``simplified``, with this volume's
        snapshots and connections as loaded here (the Cinder object
        lazy-loads them, so it may not hold them)."""
        primitive = super()._to_primitive(True, copy)
        if not simplified:
            data = primitive['versioned_object.data']
            if self._snapshots is not None:
                data['snapshots'] = _children_primitive(
                    'SnapshotList', self._snapshots, copy)
            if self._connections is not None:
                data['volume_attachment'] = _children_primitive(
                    'VolumeAttachmentList', self._connections, copy)
        return primitive

    # -- queries --------------------------------------------------------------
    @classmethod
    def get_by_name(cls, volume_name: str) -> list[Volume]:
        return cls._stored_copies(volume_name=volume_name)


def _children_primitive(list_class: str, children: list[Any],
                        copy: bool) -> dict[str, Any]:
    """The primitive of a Cinder object list of ``children``' objects."""
    # (A slice is a plain list, walked without ChildList's Python
    # __iter__: nothing here removes children.)
    return cinder_ovo.list_primitive(list_class, [
        child._to_primitive(True, copy) for child in children[:]])


def _host(backend: AnyBackend, pool_name: Optional[str],
          host: Any) -> str:
    """The new volume's ``HOST@BACKEND#POOL``: on ``pool_name``, or as
    ``host`` gives it, which must name this backend and one of its
    pools."""
    if host is None:
        return f'{backend.host_name}#{backend.check_pool_name(pool_name)}'
    validation.text(host, 'host')
    node, at, backend_and_pool = host.partition('@')
    backend_name, _, pool = backend_and_pool.partition('#')
    if not (node and at) or backend_name != backend.id:
        raise exception.InvalidArgument(
            'host', f'{host!r} is not on backend {backend.id!r} (expected '
                    f'HOST@{backend.id}#POOL)')
    pool = backend.check_pool_name(pool or None)
    if pool_name is not None and pool_name != pool:
        raise exception.InvalidArgument(
            'pool_name', f'{pool_name!r} is not the pool of host {host!r}')
    return f'{node}@{backend.id}#{pool}'
