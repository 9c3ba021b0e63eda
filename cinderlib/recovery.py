"""Putting right what a process that died in the middle of operations left.

Every operation records its start (``creating``, ``deleting``,
``extending``, a connection ``attaching``, or ``detached`` while its
export is being removed) before it calls the driver, and
holds the resource's lock until it records the end.  A record still in a
starting state whose lock is free therefore belongs to an operation that
will never finish.  ``recover()`` settles each one:

- a volume or snapshot being created becomes ``error``: the driver may have
  made it, so the record stays, and ``delete()`` removes both;
- one being deleted is deleted again (drivers ignore what is already gone);
  if that fails it stays ``error_deleting``;
- a volume being extended becomes ``error`` with its old size; ``extend()``
  again finishes it;
- a volume being reverted to a snapshot becomes ``error`` (reverting
  again finishes it), the connections its revert made are removed, and
  the snapshot (``restoring``, its data untouched) ``available`` again;
  a generic revert's temporary volume is deleted, whatever its status;
- a volume being adopted (``managing``) becomes ``error_managing``: the
  driver may have taken the object over; ``unmanage()`` releases it and
  leaves the data; one being released (``unmanaging``) is released again;
- a connection being made or removed is disconnected: its export, if
  any, is terminated and its record removed;
- a volume being migrated (its ``migration_status`` ``migrating:...``,
  or ``target:...`` for the volume made on the other backend): before the
  swap the target is deleted and the source restored, after it the
  target's record goes (see :mod:`cinderlib.objects.migration`).

Resources whose lock is held (an operation still running here, in another
process or on another host sharing the coordination backend) are left
alone and reported as ``busy``.
"""

from __future__ import annotations

import logging
from typing import Any

from cinderlib import _runtime
from cinderlib import locks
from cinderlib import states
from cinderlib.objects import migration
from cinderlib.objects import revert
from cinderlib.objects.base import Resource
from cinderlib.states import Status

LOG = logging.getLogger(__name__)


def recover(backend: _runtime.LoadedBackend) -> list[dict[str, Any]]:
    """Settle the unfinished operations of ``backend``'s resources; returns
    what was done, one ``{'resource', 'id', 'was', 'now'}`` per resource
    (``now`` is ``states.GONE``, a status, or ``states.BUSY``)."""
    persistence = _runtime.persistence()
    report: list[dict[str, Any]] = []
    volumes = persistence.get_volumes(backend_name=backend.id)
    for volume in volumes:
        for connection in persistence.get_connections(volume_id=volume.id):
            if connection._ovo.attach_status in states.ATTACH_IN_PROGRESS:
                report.append(_settle(connection, volume.id,
                                      _undo_connection))
    migrating = [volume for volume in volumes
                 if migration.in_migration(volume)]
    for volume in migrating:
        report.extend(migration.recover_volume(volume))
    settled = {entry['id'] for entry in report}
    volumes = [volume for volume in volumes if volume.id not in settled]
    for volume in volumes:
        for snapshot in persistence.get_snapshots(volume_id=volume.id):
            if snapshot.status in states.IN_PROGRESS:
                report.append(_settle(snapshot, volume.id, _finish))
    for volume in volumes:
        if revert.is_temporary(volume):
            report.append(_settle(volume, volume.id, _delete_temporary))
        elif volume.status in states.IN_PROGRESS:
            report.append(_settle(volume, volume.id, _finish))
    return report


def _settle(resource: Resource, volume_id: str,
            action: Any) -> dict[str, Any]:
    kind = resource.KIND
    was = _state(resource)
    entry = {'resource': kind, 'id': resource.id, 'was': was}
    with locks.locked_if_free(volume_id, resource.id) as free:
        if not free:
            return dict(entry, now=states.BUSY)
        if not resource._catch_up() or _state(resource) != was:
            # Finished or changed meanwhile: nothing to settle.
            return dict(entry, now=_state(resource))
        LOG.warning('Recovering %s %s left %s', kind, resource.id, was)
        try:
            now = action(resource)
        except Exception as exc:
            LOG.warning('Could not recover %s %s: %s', kind, resource.id,
                        exc)
            now = _state(resource)
    return dict(entry, now=now)


def _state(resource: Resource) -> str:
    if resource._ovo.deleted:
        return states.GONE
    return str(getattr(resource._ovo, resource.STATUS_FIELD))


def _finish(resource: Any) -> str:
    if resource.status == Status.DELETING:
        resource.delete()
        return states.GONE
    if resource.status == Status.RESTORING:  # a revert reads, not writes
        resource._ovo.status = Status.AVAILABLE
        resource.save()
        return Status.AVAILABLE
    if resource.status == Status.UNMANAGING:
        resource.unmanage()
        return states.GONE
    if resource.status == Status.REVERTING:
        # It was available, unconnected: its revert made these.
        for connection in resource.connections:
            connection.disconnect(force=True)
    failed = (Status.ERROR_MANAGING if resource.status == Status.MANAGING
              else Status.ERROR)
    resource._ovo.status = failed
    resource.save()
    return failed


def _delete_temporary(volume: Any) -> str:
    volume.cleanup()
    volume.delete()
    return states.GONE


def _undo_connection(connection: Any) -> str:
    connection.disconnect(force=True)
    return states.GONE
