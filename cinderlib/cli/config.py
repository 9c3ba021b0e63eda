"""The backend a command works on: from ``--config FILE`` and the backend
options of the command line, with its state in the ``--state`` file."""

from __future__ import annotations

import argparse
import json
import os
import stat
from typing import Any, Callable, Optional

import yaml

import cinderlib
from cinderlib.cli.command import key_values
from cinderlib.cli.errors import UsageError

DEFAULT_STATE = os.path.join(
    os.environ.get('XDG_STATE_HOME',
                   os.path.join(os.path.expanduser('~'), '.local', 'state')),
    'cinderlib', 'state.sqlite')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The backend options of a command that works on a backend."""
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


def open_backend(args: argparse.Namespace,
                 say: Callable[[str], None]) -> cinderlib.Backend:
    """Set cinderlib up and load the backend; ``say`` tells what is
    being done."""
    options, setup, persistence = backend_options(args)
    connection = persistence.get('connection')
    if isinstance(connection, str) and connection.startswith('sqlite:///'):
        state_directory(connection[len('sqlite:///'):])
    setup.setdefault('disable_logs', not args.debug)
    cinderlib.setup(persistence_config=persistence, **setup)
    name = options.pop('volume_backend_name')
    say(f'loading backend {name}')
    return cinderlib.Backend(name, **options)


def other_backend(path: str, name: Optional[str],
                  say: Callable[[str], None]) -> cinderlib.Backend:
    """Load a second backend (``volume migrate``'s target) from the
    configuration file ``path``: its ``backend:`` or, chosen by ``name``,
    one of its ``backends:``; the state and setup stay the first one's."""
    args = argparse.Namespace(config=path, backend_name=name, option=[],
                              driver=None, state=DEFAULT_STATE)
    options = backend_options(args)[0]
    backend_name = options.pop('volume_backend_name')
    say(f'loading backend {backend_name}')
    return cinderlib.Backend(backend_name, **options)


def state_directory(state_file: str) -> None:
    """Make sure the directory of ``state_file`` exists, private: the state
    holds connection credentials (CHAP passwords...).  What is missing of
    it is created 0700; an existing directory is left as it is, but for
    the default one, which earlier versions created open to all."""
    directory = os.path.dirname(os.path.abspath(state_file))
    _private_directories(directory)
    if directory == os.path.dirname(DEFAULT_STATE):
        info = os.lstat(directory)
        if (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
                and info.st_mode & 0o077):
            os.chmod(directory, 0o700)


def _private_directories(directory: str) -> None:
    parent = os.path.dirname(directory)
    if parent != directory and not os.path.isdir(parent):
        _private_directories(parent)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass


def backend_options(
        args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(backend options, setup arguments, persistence config): the
    configuration file's, then the command line's backend options."""
    config = _load_file(args.config) if args.config else {}
    if config.get('backends') and not config.get('backend'):
        backend = _pick(config['backends'], args.backend_name)
    else:
        backend = _mapping(config.get('backend') or {}, 'backend:')
    backend.update(key_values(args.option, '-o'))
    if args.driver:
        backend['volume_driver'] = args.driver
    if args.backend_name:
        backend['volume_backend_name'] = args.backend_name
    if 'volume_driver' not in backend:
        raise UsageError('no backend: give --config FILE or --driver '
                         '(see cinderlib --help)')
    backend.setdefault('volume_backend_name', 'default')
    persistence = _mapping(config.get('persistence') or {
        'storage': 'db', 'connection': f'sqlite:///{args.state}'},
        'persistence:')
    return backend, _mapping(config.get('setup') or {}, 'setup:'), persistence


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
            data = yaml.safe_load(text)
    except ValueError as exc:
        raise UsageError(f'{path} is not valid JSON: {exc}') from None
    except yaml.YAMLError as exc:
        raise UsageError(f'{path} is not valid YAML: '
                         f'{_yaml_problem(exc)}') from None
    if not isinstance(data, dict):
        raise UsageError(f'{path} must hold a mapping')
    return data


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong, and where, on one line."""
    mark = getattr(error, 'problem_mark', None)
    problem = getattr(error, 'problem', None) or str(error).splitlines()[0]
    if mark is None:
        return problem
    return f'{problem} (line {mark.line + 1}, column {mark.column + 1})'


def _pick(backends: Any, name: Optional[str]) -> dict[str, Any]:
    """One backend of a ``backends:`` list: the one named, or the only one."""
    if not isinstance(backends, list):
        raise UsageError('backends: must be a list')
    if name:
        for backend in backends:
            if isinstance(backend, dict) and backend.get(
                    'volume_backend_name') == name:
                return dict(backend)
        raise UsageError(f'no backend named {name!r} in the configuration')
    if len(backends) > 1:
        raise UsageError('the configuration lists several backends: choose '
                         'one with --backend-name')
    return _mapping(backends[0], 'backends: item')


def _mapping(value: Any, what: str) -> dict[str, Any]:
    """A copy of ``value``, a section of the configuration."""
    if not isinstance(value, dict):
        raise UsageError(f'{what} must be a mapping')
    return dict(value)
