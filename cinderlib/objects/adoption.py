"""Adopting storage objects made outside cinderlib, and releasing them.

Cinder's ``manage_existing`` and ``unmanage`` calls, done as Cinder's volume
manager does them: the driver sizes the object
(``manage_existing_get_size``), cinderlib records the new volume as
``managing``, the driver takes the object over (``manage_existing``,
usually renaming it to the volume's name on the storage), and the volume
becomes ``available``, or ``error_managing`` if the driver failed.
Releasing records ``unmanaging``, calls the driver's ``unmanage`` and
removes the record; the data stays on the storage.  Snapshots alike,
``creating`` then ``available`` or ``error`` as in Cinder.

Unlike Cinder (whose API answers before the driver runs), a reference the
driver cannot size (it names nothing, or something the driver refuses)
raises at once and leaves no record: nothing was done.  A reference that
names an object this library manages on the backend (its name on the
storage, id or provider id) is refused (``AlreadyManaged``) before the
driver is called.  A driver that does not implement an operation raises
``NotSupported`` before anything changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Optional

from cinderlib import _runtime
from cinderlib import exception
from cinderlib import locks
from cinderlib import validation
from cinderlib._runtime import LoadedBackend
from cinderlib.cinder import manageable
from cinderlib.objects import base
from cinderlib.states import IN_PROGRESS, SNAPSHOTTABLE, Status

if TYPE_CHECKING:
    from cinderlib.objects.snapshot import Snapshot
    from cinderlib.objects.volume import Volume

# What releasing retries, after a failure or a crash.
_RELEASABLE_AGAIN = frozenset((Status.UNMANAGING,))


def require_volume_support(backend: LoadedBackend) -> None:
    manageable.require(backend.driver, 'managing existing volumes',
                       'manage_existing', 'manage_existing_get_size')


def require_snapshot_support(backend: LoadedBackend) -> None:
    manageable.require(backend.driver, 'managing existing snapshots',
                       'manage_existing_snapshot',
                       'manage_existing_snapshot_get_size')


def manage_volume(volume: Volume, existing_ref: Any) -> Volume:
    """``Backend.manage_existing``: ``volume``, new and not stored (its
    size is replaced by the driver's), adopts ``existing_ref``."""
    ref = validation.existing_ref(existing_ref)
    backend = volume.backend
    require_volume_support(backend)
    driver = backend.driver
    ovo = volume._ovo
    with locks.locked(volume.id, _ref_lock(backend, ref)):
        volume._refuse_existing()
        _refuse_managed(ref, backend)
        ovo.size = _driver_size(driver.manage_existing_get_size(ovo, ref))
        ovo.status = Status.MANAGING
        volume.save()
        try:
            volume._apply_update(driver.manage_existing(ovo, ref))
            ovo.status = Status.AVAILABLE
        except Exception as exc:
            volume._fail(exc, Status.ERROR_MANAGING)
            raise
        volume.save()
    return volume


def manage_snapshot(snapshot: Snapshot, existing_ref: Any) -> Snapshot:
    """``Volume.manage_existing_snapshot``: ``snapshot``, new and not
    stored, adopts ``existing_ref`` (a snapshot of its volume on the
    storage)."""
    ref = validation.existing_ref(existing_ref)
    volume = snapshot.volume
    require_snapshot_support(volume.backend)
    driver = volume.backend.driver
    ovo = snapshot._ovo
    with locks.locked(volume.id, snapshot.id,
                      _ref_lock(volume.backend, ref)):
        snapshot._refuse_existing()
        volume._require_existing()
        if volume.status not in SNAPSHOTTABLE:
            raise exception.InvalidVolume(
                reason=f'cannot adopt a snapshot of volume {volume.id} in '
                       f'status {volume.status!r}')
        _refuse_managed(ref, volume.backend)
        ovo.volume_size = _driver_size(
            driver.manage_existing_snapshot_get_size(ovo, ref))
        snapshot.save()
        volume._add_snapshot(snapshot)
        try:
            for field, value in (driver.manage_existing_snapshot(
                    ovo, ref) or {}).items():
                if field in ovo.fields:
                    setattr(ovo, field, value)
            ovo.status = Status.AVAILABLE
            ovo.progress = '100%'
        except Exception as exc:
            snapshot._fail(exc, Status.ERROR)
            raise
        snapshot.save()
    return snapshot


def unmanage_volume(volume: Volume) -> None:
    """``Volume.unmanage``: release the volume; refused while it has
    snapshots or connections, or an operation runs on it."""
    with locks.locked(volume.id):
        volume._require_existing()
        _refuse_busy(volume)
        if volume.persistence.shared:  # others may have added some
            volume._snapshots = volume._connections = None
        if volume.snapshots:
            raise exception.InvalidVolume(
                reason=f'volume {volume.id} has snapshots; unmanage or '
                       f'delete them first')
        if volume.connections:
            raise exception.InvalidVolume(
                reason=f'volume {volume.id} is connected; disconnect it '
                       f'first')
        # No remove_export: cinderlib removes a volume's export with its
        # last connection, and it has none.
        _release(volume, lambda driver: driver.unmanage(volume._ovo),
                 Status.ERROR_UNMANAGING)


def unmanage_snapshot(snapshot: Snapshot) -> None:
    """``Snapshot.unmanage``: release the snapshot."""
    volume = snapshot.volume
    with locks.locked(volume.id, snapshot.id):
        snapshot._require_existing()
        _refuse_busy(snapshot)
        _release(snapshot,
                 lambda driver: driver.unmanage_snapshot(snapshot._ovo),
                 Status.ERROR_DELETING)
        volume._remove_snapshot(snapshot)


def list_manageable(backend: LoadedBackend, kind: str,
                    marker: Any, limit: int, offset: int,
                    sort_keys: Optional[list[str]],
                    sort_dirs: Optional[list[str]]) -> list[dict[str, Any]]:
    """The driver's ``get_manageable_volumes`` or
    ``get_manageable_snapshots`` (``kind``), given the volumes or
    snapshots this library manages on the backend."""
    method = f'get_manageable_{kind}s'
    manageable.require(backend.driver, f'listing manageable {kind}s',
                       method)
    for field, value in (('limit', limit), ('offset', offset)):
        if isinstance(value, bool) or not isinstance(value, int) or (
                value < 0):
            raise exception.InvalidArgument(
                field, f'must be an integer of 0 or more, got {value!r:.60}')
    keys, dirs = manageable.sort_arguments(sort_keys, sort_dirs)
    volumes = _stored_volumes(backend)
    managed = volumes if kind == 'volume' else _stored_snapshots(volumes)
    entries: list[dict[str, Any]] = getattr(backend.driver, method)(
        [resource._ovo for resource in managed], marker, limit, offset,
        keys, dirs)
    return entries


# -- helpers -----------------------------------------------------------------

def _ref_lock(backend: LoadedBackend, ref: dict[str, Any]) -> str:
    """The lock of a reference on a backend: two adoptions of one object
    never run together."""
    key = json.dumps([backend.id, ref], sort_keys=True)
    return 'manage-' + hashlib.sha256(key.encode()).hexdigest()[:40]


def _stored_volumes(backend: LoadedBackend) -> list[Volume]:
    found: list[Volume] = _runtime.persistence().get_volumes(
        backend_name=backend.id)
    return found


def _stored_snapshots(volumes: list[Volume]) -> list[Snapshot]:
    """The snapshots of ``volumes`` (one query for several)."""
    persistence = _runtime.persistence()
    if len(volumes) == 1:
        found: list[Snapshot] = persistence.get_snapshots(
            volume_id=volumes[0].id)
        return found
    ids = {volume.id for volume in volumes}
    return [snapshot for snapshot in persistence.get_snapshots()
            if snapshot.volume_id in ids]


def _refuse_managed(ref: dict[str, Any], backend: LoadedBackend) -> None:
    """Refuse a reference one of whose values is the name on the storage,
    id, or provider id of a volume or snapshot managed on ``backend``
    (volumes and snapshots both: on the file driver either is a file that
    could be named)."""
    values = {value for value in ref.values() if isinstance(value, str)}
    volumes = _stored_volumes(backend)
    resources: list[base.Resource] = [*volumes, *_stored_snapshots(volumes)]
    for resource in resources:
        ovo = resource._ovo
        names = {resource.id, ovo.name, ovo.get('provider_id', None)}
        if '_name_id' in ovo.fields and ovo._name_id:
            names.add(ovo._name_id)
        if values & names:
            raise exception.AlreadyManaged(ref, resource.KIND, resource.id)


def _driver_size(size: Any) -> int:
    """The size a driver reported, in whole GiB."""
    try:
        return validation.requested_size(size, 'size')
    except (exception.InvalidArgument,
            exception.InvalidArgumentType) as exc:
        raise exception.InvalidArgument(
            'existing_ref', f'the driver reports its size as {size!r:.60}: '
                            f'{exc.reason}') from None


def _refuse_busy(resource: base.Resource) -> None:
    status = resource._ovo.status
    if status in IN_PROGRESS and status not in _RELEASABLE_AGAIN:
        raise exception.InvalidArgument(
            'status', f'{resource.KIND} {resource.id} is {status}; wait '
                      f'for that to end (or recover() it) first')


def _release(resource: base.Resource, driver_call: Any,
             failed_status: str) -> None:
    """Record ``unmanaging``, call the driver, then delete the record; a
    failure is recorded as ``failed_status``."""
    resource._save_status('status', Status.UNMANAGING)
    try:
        driver_call(resource.backend.driver)
    except Exception as exc:
        resource._fail(exc, failed_status)
        raise
    getattr(resource.persistence, f'delete_{resource.KIND}')(resource)
