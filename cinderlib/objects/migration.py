"""Moving a volume to another backend, as Cinder's host-assisted migration.

``migrate()`` holds the locks of the volume (the source) and of the
target it creates, and goes through these steps, each recorded before it
starts:

1. the source becomes ``maintenance`` with ``migration_status``
   ``migrating:<target id>``: from here on ``recover()`` can find the
   target;
2. the target volume is created on the other backend (its record says
   ``target:<source id>``), both are attached here and the data is
   copied (see :mod:`cinderlib.datacopy`), then both are detached;
3. the swap: the source's record keeps its id and now names the
   target's storage (``host``, ``_name_id``, ``provider_*``), with
   ``migration_status`` ``success``, and the target's record takes the
   source's old storage, ``deleting``; both are saved together (one
   transaction with the ``db`` plugin).  Until then the source is the
   volume of record;
4. the old storage is deleted as any volume is.

A failure before the swap deletes the target and gives the source its
status back (``migration_status`` ``error``).  A process killed at any
point leaves records that ``recover_volume`` settles: before the swap, the
target is deleted and the source restored; after it, the old storage is
deleted by the generic recovery of a volume ``deleting``.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any, Callable, Optional

from cinderlib import _runtime
from cinderlib import datacopy
from cinderlib import exception
from cinderlib import locks
from cinderlib import states
from cinderlib._runtime import LoadedBackend
from cinderlib.objects import base
from cinderlib.states import AttachStatus, MigrationStatus, Status

if TYPE_CHECKING:
    from cinderlib.objects.connection import Connection
    from cinderlib.objects.volume import Volume

LOG = logging.getLogger(__name__)
GiB = 1024 ** 3

# The mountpoint of the connections a migration makes, so that recovery
# disconnects those and no other.
MOUNTPOINT = 'cinderlib:migration'
# The fields that say where a volume's data is: the swap moves them from
# the target to the source, and the source's old ones to the target.
STORAGE_FIELDS = ('host', 'cluster_name', 'availability_zone',
                  'provider_location', 'provider_id', 'provider_auth',
                  'provider_geometry', 'shared_targets', 'service_uuid',
                  'replication_status', 'replication_extended_status',
                  'replication_driver_data')


def migrate(source: Volume, backend: LoadedBackend | str,
            pool_name: Optional[str],
            progress: Optional[Callable[[int, int], None]]) -> Volume:
    """See ``Volume.migrate``."""
    if isinstance(backend, str):
        backend = base.backend_named(backend)
    pool = backend.check_pool_name(pool_name)
    target_id = str(uuid.uuid4())
    with locks.locked(source.id, target_id):
        source._require_existing()
        _refuse(source, backend, pool)
        ovo = source._ovo
        before = (ovo.status, ovo.previous_status, ovo.migration_status)
        ovo.previous_status = ovo.status
        ovo.migration_status = MigrationStatus.MIGRATING_PREFIX + target_id
        ovo.status = Status.MAINTENANCE
        try:
            source.save()
        except Exception:
            ovo.status, ovo.previous_status, ovo.migration_status = before
            raise
        target = None
        try:
            target = _new_target(source, backend, pool, target_id)
            target.create()
            _copy(source, target, progress)
        except BaseException as exc:
            _roll_back(source, target, exc)
            raise
        _swap(source, target)
    return source


def _refuse(source: Volume, backend: LoadedBackend, pool: str) -> None:
    """Refuse what Cinder's generic migration refuses, before anything
    changes."""
    def refuse(reason: str) -> None:
        raise exception.InvalidVolume(
            reason=f'cannot migrate volume {source.id}: {reason}')
    ovo = source._ovo
    if source.persistence.shared:  # others may have added some
        source._snapshots = source._connections = None
    if ovo.status != Status.AVAILABLE:
        refuse(f'its status is {ovo.status!r}, not available')
    if source.connections:
        refuse('it is connected; disconnect it first')
    if source.snapshots:
        refuse('it has snapshots (they cannot move with it)')
    if backend.id == source.backend.id and pool == source.pool_name:
        refuse(f'it is already on backend {backend.id!r}, pool {pool!r}')


def _new_target(source: Volume, backend: LoadedBackend, pool: str,
                target_id: str) -> Volume:
    """The target: the source's size, specs, name and description."""
    ovo = source._ovo
    target = type(source)(
        backend, pool_name=pool, id=target_id, size=ovo.size,
        name=ovo.display_name, description=ovo.display_description,
        extra_specs=source._extra_specs(), qos_specs=source._qos_specs(),
        bootable=ovo.bootable)
    # Set here: Cinder's own form is longer than a status given by callers.
    target._ovo.migration_status = MigrationStatus.TARGET_PREFIX + source.id
    return target


def _copy(source: Volume, target: Volume,
          progress: Optional[Callable[[int, int], None]]) -> None:
    size = source._ovo.size * GiB
    source_connection = _attach(source)
    try:
        target_connection = _attach(target)
        try:
            # Attaching made it in-use; it stays in maintenance.
            source._ovo.status = Status.MAINTENANCE
            source.save()
            # A target just created on thin storage reads zeros where
            # nothing is written (Cinder's sparse_copy_volume capability
            # says so too): zero chunks need no writing.
            result = datacopy.copy(
                source_connection.path, target_connection.path, size,
                target_is_zeroed=_reads_zeros(target), progress=progress)
        finally:
            target.detach()
    finally:
        source.detach()
    if result.copied != size:
        raise exception.VolumeDriverException(
            message=f'migration of volume {source.id} copied '
                    f'{result.copied} bytes of {size}')


def _reads_zeros(target: Volume) -> bool:
    stats = target.backend.stats()
    for pool in stats['pools']:
        if pool.get('pool_name') == target.pool_name:
            return bool(pool.get('sparse_copy_volume') or
                        pool.get('thin_provisioning_support'))
    return False


def _attach(volume: Volume) -> Connection:
    """``volume.attach()``, its connection marked as the migration's."""
    return volume._attach_here(mountpoint=MOUNTPOINT)


def _roll_back(source: Volume, target: Optional[Volume],
               exc: BaseException) -> None:
    """Delete the target (if it was made) and give the source its status
    back; failures of this are logged, so that the caller gets the error
    that made the migration fail."""
    LOG.warning('Migration of volume %s failed (%s); deleting its target',
                source.id, exc)
    try:
        if target is not None:
            _delete_target(target)
    except Exception:
        LOG.warning('Could not delete the target of the migration of '
                    'volume %s; Backend.recover() deletes it', source.id,
                    exc_info=True)
        return
    try:
        _restore(source)
    except Exception:
        LOG.warning('Could not restore volume %s after a failed migration',
                    source.id, exc_info=True)


def _delete_target(target: Volume) -> None:
    _disconnect_ours(target)
    if target.persistence.get_volumes(volume_id=target.id):
        target.delete()


def _disconnect_ours(volume: Volume) -> None:
    if volume.local_attach is not None:
        volume.detach(force=True, ignore_errors=True)
    for connection in volume.connections:
        if connection._ovo.mountpoint == MOUNTPOINT:
            connection.disconnect(force=True)


def _restore(source: Volume) -> None:
    """The source as it was, but for ``migration_status`` ``error``."""
    _disconnect_ours(source)
    ovo = source._ovo
    ovo.status = (Status.IN_USE if source.connections
                  else ovo.previous_status or Status.AVAILABLE)
    ovo.previous_status = Status.MAINTENANCE
    ovo.migration_status = MigrationStatus.ERROR
    source.save()


def _swap(source: Volume, target: Volume) -> None:
    """The source takes the target's storage, and the target's record the
    source's old storage, ``deleting``: both saved together (in one
    transaction where the plugin has them), then the old storage is
    deleted as any volume is."""
    src, dst = source._ovo, target._ovo
    old = {field: src.get(field, None) for field in STORAGE_FIELDS}
    old_name_id = src.name_id
    old_backend = source.backend
    _set_storage(src, {field: dst.get(field, None)
                       for field in STORAGE_FIELDS})
    src._name_id = dst.name_id
    src.status = src.previous_status or Status.AVAILABLE
    src.previous_status = Status.MAINTENANCE
    src.migration_status = MigrationStatus.SUCCESS
    src.attach_status = AttachStatus.DETACHED
    source.backend = target.backend
    _set_storage(dst, old)
    dst._name_id = old_name_id
    dst.status = Status.DELETING
    dst.migration_status = MigrationStatus.DELETING
    dst.display_description = f'migration source of volume {source.id}'
    target.backend = old_backend
    source.persistence.set_objects([source, target])
    try:
        target.delete()
    except Exception:
        LOG.warning('Volume %s was migrated, but its old storage (volume '
                    '%s on backend %s) could not be deleted: delete it',
                    source.id, target.id, old_backend.id, exc_info=True)


def _set_storage(ovo: Any, values: dict[str, Any]) -> None:
    """Set the storage fields; None is left out of those that cannot
    hold it (they keep their default)."""
    for field, value in values.items():
        if value is not None or ovo.fields[field].nullable:
            setattr(ovo, field, value)


# -- recovery ---------------------------------------------------------------

def in_migration(volume: Volume) -> bool:
    """Whether ``volume`` is the source or the target of a migration that
    has not ended."""
    status = volume._ovo.migration_status or ''
    return status.startswith((MigrationStatus.MIGRATING_PREFIX,
                              MigrationStatus.TARGET_PREFIX))


def recover_volume(volume: Volume) -> list[dict[str, Any]]:
    """Settle the migration ``volume`` was part of when its process died
    (see ``in_migration``); one ``{'resource', 'id', 'was', 'now'}`` per
    volume settled."""
    status = volume._ovo.migration_status
    if status.startswith(MigrationStatus.TARGET_PREFIX):
        source_id = status[len(MigrationStatus.TARGET_PREFIX):]
        target_id = volume.id
    else:
        source_id = volume.id
        target_id = status[len(MigrationStatus.MIGRATING_PREFIX):]
    with locks.locked_if_free(source_id, target_id) as free:
        if not free:
            return [_entry(volume, _state(volume), states.BUSY)]
        source = _stored(source_id)
        target = _stored(target_id)
        report = []
        if target is not None and (
                target._ovo.migration_status or '').startswith(
                    MigrationStatus.TARGET_PREFIX):
            report.append(_settle_target(target, source))
        if source is not None and not isinstance(
                source.backend, _runtime.UnloadedBackend) and (
                source._ovo.migration_status ==
                MigrationStatus.MIGRATING_PREFIX + target_id):
            was = _state(source)
            LOG.warning('Restoring volume %s, left migrating', source.id)
            _restore(source)
            report.append(_entry(source, was, source._ovo.status))
        return report


def _settle_target(target: Volume, source: Optional[Volume]) -> dict[
        str, Any]:
    was = _state(target)
    if source is not None and source.backend.id == target.backend.id and (
            source._ovo.name_id == target._ovo.name_id):
        # Swapped: the source names this storage; only the record goes.
        LOG.warning('Removing the record of migration target %s; the old '
                    'storage of volume %s may be left', target.id,
                    source.id)
        target.persistence.delete_volume(target)
        return _entry(target, was, states.GONE)
    if isinstance(target.backend, _runtime.UnloadedBackend):
        return _entry(target, was, was)  # its backend's recover() does it
    LOG.warning('Deleting target %s of an interrupted migration', target.id)
    _disconnect_ours(target)
    target.delete()
    return _entry(target, was, states.GONE)


def _stored(volume_id: str) -> Optional[Volume]:
    try:
        found = _runtime.persistence().get_volumes(volume_id=volume_id)
    except exception.BackendNotLoaded:
        return None
    return found[0] if found else None


def _state(volume: Volume) -> str:
    return str(volume._ovo.status)


def _entry(volume: Volume, was: str, now: str) -> dict[str, Any]:
    return {'resource': 'volume', 'id': volume.id, 'was': was, 'now': now}
