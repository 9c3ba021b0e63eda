"""``cinderlib volume manage|unmanage|manageable`` and ``cinderlib snapshot
manage|unmanage|manageable``: adopting what exists on the storage, and
releasing it (declared in the ``volume`` and ``snapshot`` groups)."""

from __future__ import annotations

import json
from typing import Any

from cinderlib.cli import snapshot, volume
from cinderlib.cli.command import Call, arg
from cinderlib.cli.errors import UsageError

_REFERENCE_HELP = ("the driver's reference as a JSON object "
                   "('{\"source-id\": \"...\"}'), or the name on the "
                   "storage (source-name)")
_LIST_ARGS = (
    arg('--limit', type=int, default=1000), arg('--offset', type=int,
                                                default=0),
    arg('--sort', action='append', metavar='KEY[:asc|desc]',
        help='reference or size; default: reference:desc'))


def reference(text: str) -> dict[str, Any]:
    """A reference given on the command line: a JSON object, or a name."""
    if not text.lstrip().startswith('{'):
        return {'source-name': text}
    try:
        ref = json.loads(text)
    except ValueError as exc:
        raise UsageError(f'the reference is not a JSON object: {exc}')
    if not isinstance(ref, dict):
        raise UsageError('the reference must be a JSON object')
    return ref


def _list_options(call: Call) -> dict[str, Any]:
    keys, dirs = [], []
    for sort in call.args.sort or ():
        key, _, direction = sort.partition(':')
        keys.append(key)
        dirs.append(direction or 'desc')
    return {'limit': call.args.limit, 'offset': call.args.offset,
            'sort_keys': keys or None, 'sort_dirs': dirs or None}


@volume.commands.command(
    'manage', 'adopt a volume that exists on the storage',
    arg('reference', help=_REFERENCE_HELP), arg('--name'), arg('--pool'),
    progress='adopting volume {reference}')
def manage_volume(call: Call) -> Any:
    kwargs: dict[str, Any] = {}
    if call.args.pool:
        kwargs['pool_name'] = call.args.pool
    adopted = call.backend.manage_existing(reference(call.args.reference),
                                           name=call.args.name, **kwargs)
    return volume.summary(adopted)


@volume.commands.command(
    'unmanage', 'stop managing a volume (its data stays)', arg('volume_id'),
    progress='releasing volume {volume_id}')
def unmanage_volume(call: Call) -> Any:
    released = call.volume(call.args.volume_id)
    released.unmanage()
    return {'id': released.id, 'status': released.status}


@volume.commands.command(
    'manageable', 'volumes on the storage that could be adopted',
    *_LIST_ARGS, progress='listing manageable volumes')
def manageable_volumes(call: Call) -> Any:
    return call.backend.list_manageable_volumes(**_list_options(call))


@snapshot.commands.command(
    'manage', 'adopt a snapshot of a volume that exists on the storage',
    arg('volume_id'), arg('reference', help=_REFERENCE_HELP), arg('--name'),
    progress='adopting snapshot {reference}')
def manage_snapshot(call: Call) -> Any:
    parent = call.volume(call.args.volume_id)
    adopted = parent.manage_existing_snapshot(
        reference(call.args.reference), name=call.args.name or '')
    return snapshot.summary(adopted)


@snapshot.commands.command(
    'unmanage', 'stop managing a snapshot (it stays on the storage)',
    arg('snapshot_id'), progress='releasing snapshot {snapshot_id}')
def unmanage_snapshot(call: Call) -> Any:
    released = call.snapshot(call.args.snapshot_id)
    released.unmanage()
    return {'id': released.id, 'status': released.status}


@snapshot.commands.command(
    'manageable', 'snapshots on the storage that could be adopted',
    *_LIST_ARGS, progress='listing manageable snapshots')
def manageable_snapshots(call: Call) -> Any:
    return call.backend.list_manageable_snapshots(**_list_options(call))
