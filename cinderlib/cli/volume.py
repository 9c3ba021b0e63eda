"""``cinderlib volume create|list|show|extend|clone|revert|delete|migrate``."""

from __future__ import annotations

import argparse
from typing import Any

from cinderlib import Volume
from cinderlib.cli import config
from cinderlib.cli.command import Call, Commands, arg, key_values
from cinderlib.cli.errors import UsageError

commands = Commands('volume', 'volumes')


def summary(volume: Volume) -> dict[str, Any]:
    """What the commands print of a volume."""
    return {'id': volume.id, 'name': volume.name, 'size': volume.size,
            'status': volume.status, 'pool': volume.pool_name,
            'created_at': str(volume.created_at)}


def _create_label(args: argparse.Namespace) -> str:
    if args.from_snapshot:
        return f'creating a volume from snapshot {args.from_snapshot}'
    return f'creating a {args.size} GiB volume'


@commands.command(
    'create', 'create a volume',
    arg('size', type=int, nargs='?',
        help="GiB (default with --from-snapshot: the snapshot's size)"),
    arg('--name'), arg('--pool'),
    arg('--extra-spec', action='append', metavar='KEY=VAL'),
    arg('--from-snapshot', metavar='SNAPSHOT_ID',
        help="with this snapshot's data"),
    progress=_create_label)
def create(call: Call) -> Any:
    args = call.args
    if args.size is None and not args.from_snapshot:
        raise UsageError('volume create needs a SIZE (or --from-snapshot)')
    kwargs: dict[str, Any] = {'name': args.name or ''}
    if args.pool:
        kwargs['pool_name'] = args.pool
    if args.extra_spec:
        kwargs['extra_specs'] = key_values(args.extra_spec, '--extra-spec')
    if args.from_snapshot:
        snapshot = call.snapshot(args.from_snapshot)
        if args.size is not None:
            kwargs['size'] = args.size
        return summary(snapshot.create_volume(**kwargs))
    return summary(call.backend.create_volume(args.size, **kwargs))


@commands.command('list', "the backend's volumes",
                  progress='listing volumes')
def list_(call: Call) -> Any:
    return [summary(volume) for volume in call.backend.volumes]


@commands.command('show', 'a volume as JSON', arg('volume_id'),
                  progress='reading volume {volume_id}')
def show(call: Call) -> Any:
    return call.volume(call.args.volume_id).json


@commands.command('delete', 'delete a volume', arg('volume_id'),
                  progress='deleting volume {volume_id}')
def delete(call: Call) -> Any:
    volume = call.volume(call.args.volume_id)
    volume.delete()
    return {'id': volume.id, 'status': volume.status}


@commands.command('extend', 'grow a volume', arg('volume_id'),
                  arg('size', type=int, help='new size, GiB'),
                  progress='extending volume {volume_id} to {size} GiB')
def extend(call: Call) -> Any:
    volume = call.volume(call.args.volume_id)
    new_bytes = volume.extend(call.args.size)
    return {'id': volume.id, 'size': volume.size, 'bytes': new_bytes}


@commands.command('clone', 'clone a volume', arg('volume_id'),
                  arg('--size', type=int), arg('--name'),
                  progress='cloning volume {volume_id}')
def clone(call: Call) -> Any:
    volume = call.volume(call.args.volume_id)
    kwargs = {'name': call.args.name or ''}
    if call.args.size is not None:
        kwargs['size'] = call.args.size
    return summary(volume.clone(**kwargs))


@commands.command(
    'migrate', 'move a volume to another backend (copying its data)',
    arg('volume_id'),
    arg('--to-config', required=True, metavar='FILE',
        help="the target backend's configuration (its backend: or "
             "backends:; its setup: and persistence: are not used)"),
    arg('--to-backend', metavar='NAME',
        help='the backend of --to-config, when it lists several'),
    arg('--pool', help="the target pool (default: the backend's first)"),
    progress='migrating volume {volume_id}')
def migrate(call: Call) -> Any:
    volume = call.volume(call.args.volume_id)
    target = config.other_backend(call.args.to_config, call.args.to_backend,
                                  call.say)
    label = f'migrating volume {volume.id} to {target.id}'

    def progress(done: int, total: int) -> None:
        call.say(f'{label}: {done * 100 // max(total, 1)}% '
                 f'({done // 2 ** 20} of {total // 2 ** 20} MiB)')

    call.say(label)
    volume.migrate(target, pool_name=call.args.pool, progress=progress)
    return dict(summary(volume), backend=volume.backend_name,
                migration_status=volume.migration_status)


@commands.command('revert', "make a volume's data its latest snapshot's",
                  arg('volume_id'),
                  arg('snapshot_id', help="the volume's latest snapshot"),
                  progress='reverting volume {volume_id} to snapshot '
                           '{snapshot_id}')
def revert(call: Call) -> Any:
    volume = call.volume(call.args.volume_id)
    snapshot = call.snapshot(call.args.snapshot_id)
    volume.revert_to_snapshot(snapshot)
    return dict(summary(volume), snapshot_id=snapshot.id)
