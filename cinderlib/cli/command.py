"""Declaring commands: each with its arguments, next to its handler.

A module of commands makes a ``Commands`` and decorates each handler::

    commands = Commands('volume', 'volumes')

    @commands.command('extend', 'grow a volume',
                      arg('volume_id'), arg('size', type=int),
                      progress='extending volume {volume_id}')
    def extend(call: Call) -> Any:
        ...

A handler gets a ``Call`` (the parsed arguments and, unless the command
says ``backend=False``, the backend that ``main()`` built) and returns
what the command prints, or an ``Exit``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any, Callable, Optional, TypeVar, Union

import cinderlib
from cinderlib import Backend, Connection, Snapshot, Volume
from cinderlib import progress
from cinderlib.cli.errors import UsageError

# A spinner shows once an operation has run this long (seconds).
PROGRESS_DELAY = 0.3

# What a command does, for its progress line: a format string of the
# arguments, or a function of them.
Label = Union[str, Callable[[argparse.Namespace], str], None]
Handler = Callable[['Call'], Any]
_Resource = TypeVar('_Resource', 'Volume', 'Snapshot', 'Connection')


@dataclasses.dataclass(frozen=True)
class Arg:
    """``argparse.ArgumentParser.add_argument(*names, **options)``."""

    names: tuple[str, ...]
    options: dict[str, Any]


def arg(*names: str, **options: Any) -> Arg:
    """An argument of a command, as argparse takes it."""
    return Arg(names, options)


def key_values(items: Optional[list[str]], option: str) -> dict[str, str]:
    """The ``KEY=VALUE`` words given to ``option`` (repeated), as a dict."""
    pairs = {}
    for item in items or []:
        key, sep, value = item.partition('=')
        if not sep:
            raise UsageError(f'{option} takes KEY=VALUE, got {item!r}')
        pairs[key] = value
    return pairs


@dataclasses.dataclass(frozen=True)
class Command:
    """One command: its name, help, handler and arguments; ``backend``:
    whether it works on a backend (and takes the backend options);
    ``progress``: what its progress line says (None: it has none);
    ``passes_rest``: it parses nothing, its handler gets the words after
    its name in ``Call.rest``."""

    name: str
    help: str
    handler: Handler
    args: tuple[Arg, ...] = ()
    backend: bool = True
    progress: Label = None
    passes_rest: bool = False

    def label(self, args: argparse.Namespace) -> str:
        """What the command does, for its progress line."""
        label = self.progress or ''
        return label(args) if callable(label) else label.format(**vars(args))


class Commands:
    """The commands a module declares, in order: the sub-commands of a
    group (``volume create``...) when ``name`` is given, else top-level
    commands."""

    def __init__(self, name: Optional[str] = None, help: str = '') -> None:
        self.name = name
        self.help = help
        self.commands: list[Command] = []

    def command(self, name: str, help: str, *args: Arg,
                backend: bool = True, progress: Label = None
                ) -> Callable[[Handler], Handler]:
        """Declare the decorated function as the handler of ``name``."""
        def declare(handler: Handler) -> Handler:
            self.commands.append(Command(name, help, handler, args,
                                         backend, progress))
            return handler
        return declare

    def delegate(self, name: str, help: str,
                 main: Callable[[list[str]], int]) -> None:
        """Declare ``name`` as a command that hands the words after it, as
        they are, to ``main`` (another tool's), and exits with its
        status."""
        self.commands.append(Command(
            name, help, lambda call: Exit(main(call.rest)), backend=False,
            passes_rest=True))


class Exit:
    """A command's result that is only an exit status."""

    def __init__(self, status: int) -> None:
        self.status = status


@dataclasses.dataclass
class Call:
    """A command being run: its arguments, its progress line and the
    backend it works on."""

    command: Command
    args: argparse.Namespace
    task: progress.Task
    backend_or_none: Optional[Backend] = None
    rest: list[str] = dataclasses.field(default_factory=list)

    @property
    def backend(self) -> Backend:
        """The backend (only for commands declared with a backend)."""
        assert self.backend_or_none is not None, self.command.name
        return self.backend_or_none

    # A volume, snapshot or connection of another backend (in the same
    # state) is not found: the command works on the backend it is given.
    def volume(self, volume_id: str) -> Volume:
        """The volume ``volume_id`` of the backend."""
        return self._owned(cinderlib.Volume.get_by_id(volume_id),
                           cinderlib.exception.VolumeNotFound,
                           volume_id=volume_id)

    def snapshot(self, snapshot_id: str) -> Snapshot:
        """The snapshot ``snapshot_id`` of the backend."""
        return self._owned(cinderlib.Snapshot.get_by_id(snapshot_id),
                           cinderlib.exception.SnapshotNotFound,
                           snapshot_id=snapshot_id)

    def connection(self, connection_id: str) -> Connection:
        """The connection ``connection_id`` of the backend."""
        return self._owned(cinderlib.Connection.get_by_id(connection_id),
                           cinderlib.exception.ConnectionNotFound,
                           filter=f'id = {connection_id}')

    def _owned(self, resource: _Resource, not_found: Any,
               **details: str) -> _Resource:
        if resource.backend_name != self.backend.id:
            raise not_found(**details)
        return resource

    def say(self, text: str) -> None:
        """Show ``text`` on the progress line, if the command has one."""
        if text:
            self.task.update(text)


def progress_lines(args: argparse.Namespace,
                   delay: float = PROGRESS_DELAY) -> progress.Progress:
    """Progress lines on stderr when it is a terminal; not with
    --no-progress, nor with --debug (Cinder's logs go there then)."""
    quiet = args.debug or args.no_progress
    return progress.Progress(sys.stderr, enabled=False if quiet else None,
                             delay=delay)
