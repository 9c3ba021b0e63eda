"""``cinderlib snapshot create|list|delete``."""

from __future__ import annotations

from typing import Any

import cinderlib
from cinderlib import Snapshot
from cinderlib.cli.command import Call, Commands, arg

commands = Commands('snapshot', 'snapshots')


def summary(snapshot: Snapshot) -> dict[str, Any]:
    """What the commands print of a snapshot."""
    return {'id': snapshot.id, 'name': snapshot.name,
            'volume_id': snapshot.volume_id, 'size': snapshot.volume_size,
            'status': snapshot.status}


@commands.command('create', 'snapshot a volume', arg('volume_id'),
                  arg('--name'),
                  progress='snapshotting volume {volume_id}')
def create(call: Call) -> Any:
    volume = call.volume(call.args.volume_id)
    return summary(volume.create_snapshot(name=call.args.name or ''))


@commands.command('list', 'snapshots', arg('--volume-id'),
                  progress='listing snapshots')
def list_(call: Call) -> Any:
    snapshots = cinderlib.Backend.persistence.get_snapshots(
        volume_id=call.args.volume_id)
    return [summary(s) for s in snapshots
            if s.backend_name == call.backend.id]


@commands.command('delete', 'delete a snapshot', arg('snapshot_id'),
                  progress='deleting snapshot {snapshot_id}')
def delete(call: Call) -> Any:
    snapshot = call.snapshot(call.args.snapshot_id)
    snapshot.delete()
    return {'id': snapshot.id, 'status': snapshot.status}
