"""``cinderlib connect|disconnect|attach|detach``."""

from __future__ import annotations

import json
from typing import Any

import cinderlib
from cinderlib.cli.command import Call, Commands, arg
from cinderlib.cli.errors import UsageError

commands = Commands()


def _json_argument(text: str, what: str) -> Any:
    """``text``, or the file named after a ``@``, as JSON."""
    source = text
    if text.startswith('@'):
        try:
            with open(text[1:]) as json_file:
                source = json_file.read()
        except OSError as exc:
            raise UsageError(f'cannot read {text[1:]}: '
                             f'{exc.strerror}') from None
    try:
        return json.loads(source)
    except ValueError as exc:
        raise UsageError(f'{what} is not valid JSON: {exc}') from None


@commands.command('connect', 'export a volume to a host described by its '
                  'connector JSON', arg('volume_id'),
                  arg('connector', help='JSON, or @FILE'),
                  progress='exporting volume {volume_id}')
def connect(call: Call) -> Any:
    volume = call.volume(call.args.volume_id)
    connector = _json_argument(call.args.connector, 'the connector')
    connection = volume.connect(connector)
    return {'connection_id': connection.id,
            'connection_info': connection.connection_info}


@commands.command('disconnect', 'end a connection', arg('connection_id'),
                  arg('--force', action='store_true'),
                  progress='ending connection {connection_id}')
def disconnect(call: Call) -> Any:
    connection = call.connection(call.args.connection_id)
    connection.disconnect(force=call.args.force)
    return {'connection_id': connection.id, 'disconnected': True}


@commands.command('attach', 'attach a volume to this host', arg('volume_id'),
                  progress='attaching volume {volume_id}')
def attach(call: Call) -> Any:
    connection = call.volume(call.args.volume_id).attach()
    path = connection.path
    return {'connection_id': connection.id,
            'path': path if isinstance(path, str) else None,
            'device': connection.connection_info['device']}


@commands.command('detach', 'detach a volume from this host',
                  arg('volume_id'), arg('--force', action='store_true'),
                  progress='detaching volume {volume_id}')
def detach(call: Call) -> Any:
    volume = call.volume(call.args.volume_id)
    host = cinderlib.Backend.global_options().host
    local = [c for c in volume.connections
             if c.attached and c.connector_info.get('host') == host]
    if not local:
        raise cinderlib.exception.NotLocal(volume.id)
    local[0].detach(force=call.args.force)
    local[0].disconnect(force=call.args.force)
    return {'id': volume.id, 'status': volume.status}
