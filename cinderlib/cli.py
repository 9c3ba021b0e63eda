"""The ``cinderlib`` command.

Commands print JSON (a table for lists on a terminal).  A backend comes
from ``--config FILE`` (YAML or JSON: ``backend: {volume_backend_name:
..., volume_driver: ..., <cinder.conf options>}``, optional ``setup:`` and
``persistence:``) or from ``--driver``/``--backend-name``/``-o KEY=VALUE``;
state is kept in a SQLite file (``--state``) so that consecutive commands
see the same volumes.

On a terminal, what is running shows on stderr with a spinner and the
elapsed seconds, erased before the result prints; nothing of it is written
when stderr is not a terminal, with ``--debug`` or with ``--no-progress``.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or input,
3 not found.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from cinderlib import progress

if TYPE_CHECKING:
    from cinderlib import Backend, Snapshot, Volume

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND = 1, 2, 3
# A spinner shows once an operation has run this long (seconds).
PROGRESS_DELAY = 0.3
DEFAULT_STATE = os.path.join(
    os.environ.get('XDG_STATE_HOME',
                   os.path.join(os.path.expanduser('~'), '.local', 'state')),
    'cinderlib', 'state.sqlite')


class UsageError(Exception):
    """Bad arguments or configuration (exit code 2)."""


# -- output ----------------------------------------------------------------


def _emit(args: argparse.Namespace, value: Any) -> None:
    table = args.format == 'table' or (
        args.format == 'auto' and sys.stdout.isatty())
    if table and isinstance(value, list) and value and all(
            isinstance(row, dict) for row in value):
        _print_table(value)
    else:
        json.dump(value, sys.stdout, indent=2, sort_keys=True, default=str)
        print()


def _print_table(rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    cells = [[str(row.get(column, '')) for column in columns]
             for row in rows]
    widths = [max(len(column), *(len(r[i]) for r in cells))
              for i, column in enumerate(columns)]
    print('  '.join(c.upper().ljust(w) for c, w in zip(columns, widths)))
    for row in cells:
        print('  '.join(cell.ljust(w) for cell, w in zip(row, widths)))


def _volume_summary(volume: Volume) -> dict[str, Any]:
    return {'id': volume.id, 'name': volume.name, 'size': volume.size,
            'status': volume.status, 'pool': volume.pool_name,
            'created_at': str(volume.created_at)}


def _snapshot_summary(snapshot: Snapshot) -> dict[str, Any]:
    return {'id': snapshot.id, 'name': snapshot.name,
            'volume_id': snapshot.volume_id, 'size': snapshot.volume_size,
            'status': snapshot.status}


# -- configuration -----------------------------------------------------------


def _load_file(path: str) -> dict[str, Any]:
    try:
        with open(path) as config_file:
            text = config_file.read()
    except OSError as exc:
        raise UsageError(f'cannot read {path}: {exc.strerror}') from None
    try:
        if path.endswith('.json'):
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except ValueError as exc:
        raise UsageError(f'{path} is not valid YAML/JSON: {exc}') from None
    if not isinstance(data, dict):
        raise UsageError(f'{path} must hold a mapping')
    return data


def _backend_options(
        args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(backend options, setup arguments, persistence config)."""
    config = _load_file(args.config) if args.config else {}
    backend = dict(config.get('backend') or _pick(
        config.get('backends') or [], args.backend_name))
    for item in args.option or []:
        key, sep, value = item.partition('=')
        if not sep:
            raise UsageError(f'-o takes KEY=VALUE, got {item!r}')
        backend[key] = value
    if args.driver:
        backend['volume_driver'] = args.driver
    if args.backend_name:
        backend['volume_backend_name'] = args.backend_name
    if 'volume_driver' not in backend:
        raise UsageError('no backend: give --config FILE or --driver '
                         '(see cinderlib --help)')
    backend.setdefault('volume_backend_name', 'default')
    persistence = config.get('persistence') or {
        'storage': 'db', 'connection': f'sqlite:///{args.state}'}
    return backend, dict(config.get('setup') or {}), persistence


def _pick(backends: list[dict[str, Any]],
          name: Optional[str]) -> dict[str, Any]:
    """One backend of a ``backends:`` list: the one named, or the only one."""
    if name:
        for backend in backends:
            if backend.get('volume_backend_name') == name:
                return backend
        raise UsageError(f'no backend named {name!r} in the configuration')
    if len(backends) > 1:
        raise UsageError('the configuration lists several backends: choose '
                         'one with --backend-name')
    return backends[0] if backends else {}


def _backend(args: argparse.Namespace) -> Backend:
    import cinderlib
    options, setup, persistence = _backend_options(args)
    if persistence.get('connection', '').startswith('sqlite:///'):
        os.makedirs(os.path.dirname(persistence['connection'][10:]) or '.',
                    exist_ok=True)
    setup.setdefault('disable_logs', not args.debug)
    cinderlib.setup(persistence_config=persistence, **setup)
    name = options.pop('volume_backend_name')
    _say(args, f'loading backend {name}')
    backend = cinderlib.Backend(name, **options)
    _say(args, _label(args))
    return backend


def _volume(backend: Backend, volume_id: str) -> Volume:
    import cinderlib
    volume = cinderlib.Volume.get_by_id(volume_id)
    if volume.backend_name != backend.id:
        raise cinderlib.exception.VolumeNotFound(volume_id=volume_id)
    return volume


def _snapshot(backend: Any, snapshot_id: str) -> Any:
    import cinderlib
    snapshot = cinderlib.Snapshot.get_by_id(snapshot_id)
    if snapshot.backend_name != backend.id:
        raise cinderlib.exception.SnapshotNotFound(snapshot_id=snapshot_id)
    return snapshot


def _json_argument(text: str, what: str) -> Any:
    source = text
    if text.startswith('@'):
        with open(text[1:]) as json_file:
            source = json_file.read()
    try:
        return json.loads(source)
    except ValueError as exc:
        raise UsageError(f'{what} is not valid JSON: {exc}') from None


# -- commands ----------------------------------------------------------------


def _demo(args: argparse.Namespace) -> Any:
    from cinderlib import demo
    # No delay: each step's line replaces its progress line.
    status = demo.run_demo(args.dir, on_error=lambda message: print(
        message, file=sys.stderr), progress=_progress(args, delay=0))
    return _Exit(status)


def _drivers(args: argparse.Namespace) -> Any:
    import cinderlib
    drivers = cinderlib.list_supported_drivers(args.output_version)
    if args.name:
        drivers = {name: info for name, info in drivers.items()
                   if args.name.lower() in name.lower()}
    return drivers


def _convert(args: argparse.Namespace) -> Any:
    from cinderlib import conf_convert
    try:
        backends = conf_convert.read_cinder_conf(args.cinder_conf,
                                                 args.section)
    except conf_convert.ConversionError as exc:
        raise UsageError(str(exc)) from None
    text = conf_convert.render(backends, args.to)
    sys.stdout.write(text)
    return _Exit(0)


def _connector(args: argparse.Namespace) -> Any:
    import cinderlib
    import socket
    return cinderlib.get_connector_properties(
        args.root_helper, args.my_ip or socket.gethostbyname(
            socket.gethostname()), args.multipath, False)


def _stats(args: argparse.Namespace) -> Any:
    return _backend(args).stats(refresh=True)


def _volume_create(args: argparse.Namespace) -> Any:
    if args.size is None and not args.from_snapshot:
        raise UsageError('volume create needs a SIZE (or --from-snapshot)')
    backend = _backend(args)
    kwargs: dict[str, Any] = {'name': args.name or ''}
    if args.pool:
        kwargs['pool_name'] = args.pool
    if args.extra_spec:
        kwargs['extra_specs'] = dict(s.split('=', 1) for s in
                                     args.extra_spec)
    if args.from_snapshot:
        snapshot = _snapshot(backend, args.from_snapshot)
        if args.size is not None:
            kwargs['size'] = args.size
        return _volume_summary(snapshot.create_volume(**kwargs))
    return _volume_summary(backend.create_volume(args.size, **kwargs))


def _volume_list(args: argparse.Namespace) -> Any:
    return [_volume_summary(v) for v in _backend(args).volumes]


def _volume_show(args: argparse.Namespace) -> Any:
    return _volume(_backend(args), args.volume_id).json


def _volume_extend(args: argparse.Namespace) -> Any:
    volume = _volume(_backend(args), args.volume_id)
    new_bytes = volume.extend(args.size)
    return {'id': volume.id, 'size': volume.size, 'bytes': new_bytes}


def _volume_clone(args: argparse.Namespace) -> Any:
    volume = _volume(_backend(args), args.volume_id)
    kwargs = {'name': args.name or ''}
    if args.size:
        kwargs['size'] = args.size
    return _volume_summary(volume.clone(**kwargs))


def _volume_delete(args: argparse.Namespace) -> Any:
    volume = _volume(_backend(args), args.volume_id)
    volume.delete()
    return {'id': volume.id, 'status': volume.status}


def _snapshot_create(args: argparse.Namespace) -> Any:
    volume = _volume(_backend(args), args.volume_id)
    return _snapshot_summary(volume.create_snapshot(name=args.name or ''))


def _snapshot_list(args: argparse.Namespace) -> Any:
    import cinderlib
    backend = _backend(args)
    snapshots = cinderlib.Backend.persistence.get_snapshots(
        volume_id=args.volume_id)
    return [_snapshot_summary(s) for s in snapshots
            if s.backend_name == backend.id]


def _snapshot_delete(args: argparse.Namespace) -> Any:
    import cinderlib
    _backend(args)
    snapshot = cinderlib.Snapshot.get_by_id(args.snapshot_id)
    snapshot.delete()
    return {'id': snapshot.id, 'status': snapshot.status}


def _connect(args: argparse.Namespace) -> Any:
    volume = _volume(_backend(args), args.volume_id)
    connector = _json_argument(args.connector, 'the connector')
    connection = volume.connect(connector)
    return {'connection_id': connection.id,
            'connection_info': connection.connection_info}


def _disconnect(args: argparse.Namespace) -> Any:
    import cinderlib
    _backend(args)
    connection = cinderlib.Connection.get_by_id(args.connection_id)
    connection.disconnect(force=args.force)
    return {'connection_id': connection.id, 'disconnected': True}


def _attach(args: argparse.Namespace) -> Any:
    connection = _volume(_backend(args), args.volume_id).attach()
    path = connection.path
    return {'connection_id': connection.id,
            'path': path if isinstance(path, str) else None,
            'device': connection.connection_info['device']}


def _detach(args: argparse.Namespace) -> Any:
    import cinderlib
    volume = _volume(_backend(args), args.volume_id)
    local = [c for c in volume.connections if c.attached and
             c.connector_info.get('host') == volume.backend.global_options(
             ).host]
    if not local:
        raise cinderlib.exception.NotLocal(volume.id)
    local[0].detach(force=args.force)
    local[0].disconnect(force=args.force)
    return {'id': volume.id, 'status': volume.status}


class _Exit:
    """A command's result that is only an exit status."""

    def __init__(self, status: int) -> None:
        self.status = status


# -- progress -----------------------------------------------------------------


def _progress(args: argparse.Namespace,
              delay: float = PROGRESS_DELAY) -> progress.Progress:
    """Progress on stderr when it is a terminal (Cinder's logs go there
    with --debug, so not then)."""
    quiet = args.debug or args.no_progress
    return progress.Progress(sys.stderr, enabled=False if quiet else None,
                             delay=delay)


def _label(args: argparse.Namespace) -> str:
    """What the command is doing, for its progress line."""
    label = getattr(args, 'progress_label', None) or ''
    return label(args) if callable(label) else label.format(**vars(args))


def _say(args: argparse.Namespace, text: str) -> None:
    """Show ``text`` on the command's progress line, if it has one."""
    task = getattr(args, 'task', None)
    if task is not None and text:
        task.update(text)


def _create_label(args: argparse.Namespace) -> str:
    if args.from_snapshot:
        return f'creating a volume from snapshot {args.from_snapshot}'
    return f'creating a {args.size} GiB volume'


# -- parser -------------------------------------------------------------------


def _backend_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group('backend and state')
    group.add_argument('--config', help='YAML/JSON file with backend:, and '
                                        'optionally setup: and persistence:')
    group.add_argument('--driver', help='volume_driver (dotted class path)')
    group.add_argument('--backend-name', help='volume_backend_name')
    group.add_argument('-o', '--option', action='append', metavar='KEY=VAL',
                       help='a driver option, as in cinder.conf (repeat)')
    group.add_argument('--state', default=DEFAULT_STATE,
                       help='SQLite file keeping the state (default: '
                            '%(default)s)')


def _command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
             name: str, function: Callable[[argparse.Namespace], Any],
             help_text: str, backend: bool = True,
             progress_label: Union[str, Callable[[argparse.Namespace], str],
                                   None] = None
             ) -> argparse.ArgumentParser:
    """A sub-command; ``progress_label`` (a format string of the arguments,
    or a function of them) says what it does on a terminal."""
    parser = commands.add_parser(name, help=help_text,
                                 description=help_text)
    parser.set_defaults(func=function, progress_label=progress_label,
                        uses_backend=backend)
    # Also accepted after the command; the defaults come from the top.
    parser.add_argument('--debug', action='store_true',
                        default=argparse.SUPPRESS)
    parser.add_argument('--format', choices=('auto', 'json', 'table'),
                        default=argparse.SUPPRESS)
    parser.add_argument('--no-progress', action='store_true',
                        default=argparse.SUPPRESS)
    if backend:
        _backend_arguments(parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='cinderlib', description='Cinder volume drivers without '
                                      'Cinder: manage volumes from the '
                                      'command line.')
    parser.add_argument('--debug', action='store_true',
                        help='show tracebacks and Cinder logs')
    parser.add_argument('--format', choices=('auto', 'json', 'table'),
                        default='auto', help='output (default: a table for '
                                             'lists on a terminal, else JSON)')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress line on stderr (shown by default '
                             'when stderr is a terminal)')
    commands = parser.add_subparsers(dest='command', required=True)

    demo = _command(commands, 'demo', _demo, 'run every operation on the '
                    'embedded file backend', backend=False)
    demo.add_argument('--dir', help='work in this directory (default: a '
                                    'temporary one, removed afterwards)')
    drivers = _command(commands, 'drivers', _drivers, 'list the installed '
                       'Cinder drivers and their options', backend=False,
                       progress_label='importing every driver')
    drivers.add_argument('--name', help='only drivers whose class name '
                                        'contains this text')
    drivers.add_argument('--output-version', type=int, default=1,
                         choices=(1, 2))
    convert = _command(commands, 'convert', _convert, 'turn cinder.conf '
                       'backend sections into cinderlib code or config',
                       backend=False)
    convert.add_argument('cinder_conf')
    convert.add_argument('--section', action='append',
                         help='backend section (default: enabled_backends)')
    convert.add_argument('--to', choices=('python', 'yaml', 'json'),
                         default='python')
    connector = _command(commands, 'connector', _connector, "this host's "
                         'os-brick connector properties', backend=False)
    connector.add_argument('--root-helper', default='sudo')
    connector.add_argument('--my-ip')
    connector.add_argument('--multipath', action='store_true')
    _command(commands, 'stats', _stats, 'the backend\'s capacity and '
             'capabilities', progress_label='reading the backend stats')

    volume = commands.add_parser('volume', help='volumes').add_subparsers(
        dest='action', required=True)
    create = _command(volume, 'create', _volume_create, 'create a volume',
                      progress_label=_create_label)
    create.add_argument('size', type=int, nargs='?',
                        help='GiB (default with --from-snapshot: the '
                             "snapshot's size)")
    create.add_argument('--name')
    create.add_argument('--pool')
    create.add_argument('--extra-spec', action='append', metavar='KEY=VAL')
    create.add_argument('--from-snapshot', metavar='SNAPSHOT_ID',
                        help="with this snapshot's data")
    _command(volume, 'list', _volume_list, "the backend's volumes",
             progress_label='listing volumes')
    for name, function, text, label in (
            ('show', _volume_show, 'a volume as JSON',
             'reading volume {volume_id}'),
            ('delete', _volume_delete, 'delete a volume',
             'deleting volume {volume_id}')):
        _command(volume, name, function, text, progress_label=label
                 ).add_argument('volume_id')
    extend = _command(volume, 'extend', _volume_extend, 'grow a volume',
                      progress_label='extending volume {volume_id} to '
                                     '{size} GiB')
    extend.add_argument('volume_id')
    extend.add_argument('size', type=int, help='new size, GiB')
    clone = _command(volume, 'clone', _volume_clone, 'clone a volume',
                     progress_label='cloning volume {volume_id}')
    clone.add_argument('volume_id')
    clone.add_argument('--size', type=int)
    clone.add_argument('--name')

    snapshot = commands.add_parser('snapshot', help='snapshots'
                                   ).add_subparsers(dest='action',
                                                    required=True)
    snap_create = _command(snapshot, 'create', _snapshot_create,
                           'snapshot a volume',
                           progress_label='snapshotting volume {volume_id}')
    snap_create.add_argument('volume_id')
    snap_create.add_argument('--name')
    snap_list = _command(snapshot, 'list', _snapshot_list, 'snapshots',
                         progress_label='listing snapshots')
    snap_list.add_argument('--volume-id')
    _command(snapshot, 'delete', _snapshot_delete, 'delete a snapshot',
             progress_label='deleting snapshot {snapshot_id}'
             ).add_argument('snapshot_id')

    connect = _command(commands, 'connect', _connect, 'export a volume to '
                       'a host described by its connector JSON',
                       progress_label='exporting volume {volume_id}')
    connect.add_argument('volume_id')
    connect.add_argument('connector', help='JSON, or @FILE')
    disconnect = _command(commands, 'disconnect', _disconnect,
                          'end a connection',
                          progress_label='ending connection '
                                         '{connection_id}')
    disconnect.add_argument('connection_id')
    disconnect.add_argument('--force', action='store_true')
    _command(commands, 'attach', _attach, 'attach a volume to this host',
             progress_label='attaching volume {volume_id}'
             ).add_argument('volume_id')
    detach = _command(commands, 'detach', _detach, 'detach a volume from '
                      'this host', progress_label='detaching volume '
                                                  '{volume_id}')
    detach.add_argument('volume_id')
    detach.add_argument('--force', action='store_true')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # The progress line is erased before anything is printed.
        with _command_progress(args) as args.task:
            result = args.func(args)
    except Exception as exc:
        return _report(exc, args.debug)
    if isinstance(result, _Exit):
        return result.status
    _emit(args, result)
    return 0


def _command_progress(args: argparse.Namespace) -> Any:
    """The progress line of a command with a ``progress_label``; one that
    is never shown for the others."""
    if args.progress_label is None:
        return progress.Progress(sys.stderr, enabled=False).task('')
    # _backend() says what it loads, then what the command does.
    label = 'setting up cinderlib' if args.uses_backend else _label(args)
    return _progress(args).task(label)


def _report(exc: Exception, debug: bool) -> int:
    if debug:
        import traceback
        traceback.print_exc()
    else:
        print(f'cinderlib: {type(exc).__name__}: {exc}', file=sys.stderr)
    if isinstance(exc, UsageError) or isinstance(exc, (ValueError,
                                                       TypeError)):
        return EXIT_USAGE
    from cinderlib import exception
    if isinstance(exc, exception.NotFound):
        return EXIT_NOT_FOUND
    return EXIT_FAILED
