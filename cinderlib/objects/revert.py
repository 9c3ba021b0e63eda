"""Reverting a volume to its latest snapshot, as Cinder's volume manager
does it.

Cinder's rules: only the volume's latest snapshot, of the volume's size,
``available``; the volume ``available`` (not connected).  Its steps: a
backup snapshot of the volume first, where the driver asks for one
(``snapshot_revert_use_temp_snapshot()``), deleted once the revert is
done and kept if it fails (the data as it was, to restore by hand); then
the driver's ``revert_to_snapshot``, or where the driver has none
(``NotImplementedError``) the generic way: a temporary volume made from
the snapshot and copied onto the volume, both attached on this host.

The volume is ``reverting`` and the snapshot ``restoring`` from before
the driver is called until the end: then ``available`` both, or the
volume ``error`` (reverting again is how to put it right) and the
snapshot ``available``.  ``Backend.recover()`` settles a revert whose
process died (see :mod:`cinderlib.recovery`); the generic way's
temporary volume is known by its name, Cinder's
``[revert] temporary volume created from snapshot <id>``.
"""

from __future__ import annotations

import datetime
import logging
import os
import stat
import uuid
from typing import TYPE_CHECKING, Any, Optional

from cinderlib import datacopy
from cinderlib import exception
from cinderlib import locks
from cinderlib.objects.snapshot import Snapshot
from cinderlib.states import REVERTIBLE, Status

if TYPE_CHECKING:
    from cinderlib.objects.volume import Volume

LOG = logging.getLogger(__name__)
GiB = 1024 ** 3
COPY_CHUNK = 4 * 1024 * 1024
TEMPORARY_NAME = '[revert] temporary volume created from snapshot {}'
BACKUP_NAME = '[revert] volume {} backup snapshot'
_OLDEST = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)


def is_temporary(volume: Volume) -> bool:
    """Whether ``volume`` is a generic revert's temporary volume."""
    snapshot_id = volume._ovo.snapshot_id
    return bool(snapshot_id) and volume.name == TEMPORARY_NAME.format(
        snapshot_id)


def revert_to_snapshot(volume: Volume, snapshot: Snapshot) -> None:
    """Revert ``volume`` to ``snapshot`` (see the module docstring)."""
    if not isinstance(snapshot, Snapshot):
        raise exception.InvalidArgumentType(
            'snapshot', f'must be a Snapshot, got {type(snapshot).__name__}')
    if snapshot.volume_id != volume.id:
        raise exception.InvalidArgument(
            'snapshot', f'snapshot {snapshot.id} belongs to volume '
                        f'{snapshot.volume_id}, not to volume {volume.id}')
    snapshot.volume = volume  # drivers read snapshot.volume: this one
    driver = volume.backend.driver
    # Every lock the revert needs, taken at once (see cinderlib.locks).
    backup_id, temporary_id = str(uuid.uuid4()), str(uuid.uuid4())
    with locks.locked(volume.id, snapshot.id, temporary_id, backup_id):
        _check(volume, snapshot)
        backup = None
        # Not of a volume in error: a failed revert kept one already.
        if (volume.status == Status.AVAILABLE and
                driver.snapshot_revert_use_temp_snapshot()):
            backup = Snapshot(volume, id=backup_id,
                              name=BACKUP_NAME.format(volume.id)).create()
        _start(volume, snapshot)
        try:
            try:
                driver.revert_to_snapshot(volume.backend.context,
                                          volume._ovo, snapshot._ovo)
            except NotImplementedError:
                LOG.info('Driver of volume %s has no revert_to_snapshot: '
                         'copying snapshot %s onto it', volume.id,
                         snapshot.id)
                _revert_generic(volume, snapshot, temporary_id)
        except Exception as exc:
            if backup is not None:
                LOG.error('Reverting volume %s to snapshot %s failed; its '
                          'data before the revert is in snapshot %s',
                          volume.id, snapshot.id, backup.id)
            _end(volume, snapshot, Status.ERROR, exc)
            raise
        _end(volume, snapshot, Status.AVAILABLE)
        if backup is not None:
            try:
                backup.delete()
            except Exception:
                LOG.warning('Could not delete snapshot %s, the backup made '
                            'before reverting volume %s', backup.id,
                            volume.id, exc_info=True)


def _check(volume: Volume, snapshot: Snapshot) -> None:
    """Cinder's checks, under the locks, on what is stored now."""
    volume._require_existing()
    snapshot._require_existing()
    # As stored: another copy of the volume may have added some.
    volume._snapshots = volume._connections = None
    if volume.connections:
        raise exception.InvalidVolume(
            reason=f'cannot revert volume {volume.id}: it is connected; '
                   f'disconnect it first')
    if volume.status not in REVERTIBLE:
        raise exception.InvalidVolume(
            reason=f'cannot revert volume {volume.id} in status '
                   f'{volume.status!r}: it must be available')
    if snapshot.status != Status.AVAILABLE:
        raise exception.InvalidSnapshot(
            reason=f'cannot revert to snapshot {snapshot.id} in status '
                   f'{snapshot.status!r}: it must be available')
    latest = max([snapshot, *volume.snapshots], key=_created_at)
    if _created_at(latest) > _created_at(snapshot):
        raise exception.InvalidArgument(
            'snapshot', f'snapshot {snapshot.id} is not the latest '
                        f'snapshot of volume {volume.id} ({latest.id} is): '
                        f'only the latest can be reverted to')
    if snapshot.volume_size != volume.size:
        raise exception.InvalidVolume(
            reason=f'cannot revert volume {volume.id} ({volume.size} GiB) '
                   f'to snapshot {snapshot.id}, taken at '
                   f'{snapshot.volume_size} GiB: the sizes must be equal')


def _created_at(snapshot: Snapshot) -> datetime.datetime:
    created: Optional[datetime.datetime] = snapshot._ovo.created_at
    if created is None:
        return _OLDEST
    if created.tzinfo is None:
        created = created.replace(tzinfo=datetime.timezone.utc)
    return created


def _start(volume: Volume, snapshot: Snapshot) -> None:
    """Record the revert before the driver is called."""
    volume._save_status('status', Status.REVERTING)
    try:
        snapshot._save_status('status', Status.RESTORING)
    except Exception:
        volume._save_status('status', Status.AVAILABLE)
        raise


def _end(volume: Volume, snapshot: Snapshot, status: str,
         exc: Optional[BaseException] = None) -> None:
    snapshot._ovo.status = Status.AVAILABLE
    if exc is None:
        volume._ovo.status = status
        volume.save()
    else:
        volume._fail(exc, status)
    snapshot.save()


def _revert_generic(volume: Volume, snapshot: Snapshot,
                    temporary_id: str) -> None:
    """Cinder's ``_revert_to_snapshot_generic``: a temporary volume from
    the snapshot, copied onto the volume; the temporary volume is deleted
    whatever happens."""
    try:
        temporary = snapshot.create_volume(
            id=temporary_id, name=TEMPORARY_NAME.format(snapshot.id))
    except Exception as exc:
        made = getattr(exc, 'resource', None)  # recorded in error
        if made is not None and made.id == temporary_id:
            delete_temporary(made)
        raise
    try:
        source = temporary.attach()
        try:
            target = volume.attach()
            try:
                copy_device(source.path, target.path, volume.size * GiB)
            finally:
                volume.detach()
        finally:
            temporary.detach()
    finally:
        delete_temporary(temporary)


def delete_temporary(temporary: Volume) -> None:
    """Delete a temporary volume with its connections; a failure is
    logged (``Backend.recover()`` deletes it later)."""
    try:
        temporary.cleanup()
        temporary.delete()
    except Exception:
        LOG.warning('Could not delete temporary volume %s',
                    temporary.id, exc_info=True)


class _Device:
    """Positional I/O on an attached device: a path (a file or block
    device), or the file-like object some connectors give (librbd)."""

    def __init__(self, path: Any, writable: bool) -> None:
        self.fd: Optional[int] = None
        self.handle: Any = path  # used when it is not a path
        if isinstance(path, str):
            self.fd = os.open(path, (os.O_RDWR if writable else os.O_RDONLY)
                              | os.O_CLOEXEC)

    def read(self, offset: int, length: int) -> bytes:
        if self.fd is not None:
            return os.pread(self.fd, length, offset)
        self.handle.seek(offset)
        return bytes(self.handle.read(length))

    def write(self, offset: int, data: bytes) -> None:
        if self.fd is not None:
            done = 0
            while done < len(data):
                done += os.pwrite(self.fd, data[done:], offset + done)
            return
        self.handle.seek(offset)
        self.handle.write(data)

    def data_ranges(self, size: int) -> Optional[list[tuple[int, int]]]:
        """``(start, end)`` of the regions of a regular file that may
        hold data (the rest reads as zeros); None if it cannot tell."""
        if self.fd is None or not stat.S_ISREG(os.fstat(self.fd).st_mode):
            return None
        try:
            extents = datacopy.file_extents(self.fd, size)
        except OSError:
            return None  # SEEK_DATA unusable here: copy everything
        if extents is None:
            return None
        return [(start, start + length) for start, length in extents]

    def close(self, sync: bool) -> None:
        if self.fd is not None:
            try:
                if sync:
                    os.fsync(self.fd)
            finally:
                os.close(self.fd)
        elif sync:
            self.handle.flush()


def _ranges_to_compare(source: _Device, target: _Device,
                       size: int) -> list[tuple[int, int]]:
    """Where either device may hold data: holes of both files read as
    zeros, equal, and are skipped without reading them."""
    source_ranges = source.data_ranges(size)
    target_ranges = target.data_ranges(size)
    if source_ranges is None or target_ranges is None:
        return [(0, size)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(source_ranges + target_ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def copy_device(source_path: Any, target_path: Any, size: int) -> int:
    """Make the first ``size`` bytes of the target those of the source;
    only the chunks that differ are written (a revert changes little, and
    a sparse target stays sparse).  Returns the bytes written."""
    source = _Device(source_path, writable=False)
    try:
        target = _Device(target_path, writable=True)
        written = 0
        try:
            for start, end in _ranges_to_compare(source, target, size):
                offset = start
                while offset < end:
                    data = source.read(offset, min(COPY_CHUNK, end - offset))
                    if not data:
                        break
                    if target.read(offset, len(data)) != data:
                        target.write(offset, data)
                        written += len(data)
                    offset += len(data)
        except BaseException:
            target.close(sync=False)
            raise
        target.close(sync=True)
        return written
    finally:
        source.close(sync=False)
