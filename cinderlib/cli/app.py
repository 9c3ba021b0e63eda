"""The parser built from the command table, and ``main()``: it parses,
builds the backend for the commands that work on one, runs the handler,
prints its result and turns errors into exit codes."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Iterator, Optional, Sequence

from cinderlib import progress
from cinderlib.cli import config, errors, output
from cinderlib.cli.command import (Call, Command, Commands, Exit,
                                   progress_lines)
from cinderlib.cli.table import COMMANDS


def build_parser(table: Sequence[Commands] = COMMANDS
                 ) -> argparse.ArgumentParser:
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
    top = parser.add_subparsers(dest='command', required=True)
    for commands in table:
        parent = top
        if commands.name is not None:
            parent = top.add_parser(commands.name, help=commands.help
                                    ).add_subparsers(dest='action',
                                                     required=True)
        for command in commands.commands:
            _add_command(parent, command)
    return parser


def _add_command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser],
        command: Command) -> None:
    parser = parent.add_parser(command.name, help=command.help,
                               description=command.help,
                               add_help=not command.passes_rest)
    parser.set_defaults(cli_command=command)
    if command.passes_rest:
        return
    # Also accepted after the command; the defaults come from the top.
    parser.add_argument('--debug', action='store_true',
                        default=argparse.SUPPRESS)
    parser.add_argument('--format', choices=('auto', 'json', 'table'),
                        default=argparse.SUPPRESS)
    parser.add_argument('--no-progress', action='store_true',
                        default=argparse.SUPPRESS)
    if command.backend:
        config.add_arguments(parser)
    for argument in command.args:
        parser.add_argument(*argument.names, **argument.options)


def main(argv: Optional[Sequence[str]] = None,
         table: Sequence[Commands] = COMMANDS) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns
    the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(table)
    args, rest = parser.parse_known_args(words)
    command: Command = args.cli_command
    if command.passes_rest:
        # What argparse left, in its order, may not be the words as given.
        rest = words[words.index(command.name) + 1:]
    elif rest:
        parser.error(f'unrecognized arguments: {" ".join(rest)}')
    try:
        # The progress line is erased before anything is printed.
        with _progress_line(command, args) as task:
            call = Call(command, args, task, rest=rest)
            if command.backend:
                call.backend_or_none = config.open_backend(args, call.say)
                call.say(command.label(args))
            result = command.handler(call)
    except Exception as exc:
        return errors.report(exc, args.debug)
    if isinstance(result, Exit):
        return result.status
    output.emit(args.format, result)
    return 0


@contextlib.contextmanager
def _progress_line(command: Command,
                   args: argparse.Namespace) -> Iterator[progress.Task]:
    """The progress line of a command that has a ``progress`` label (one
    that is never shown for the others)."""
    if command.progress is None:
        lines = progress.Progress(sys.stderr, enabled=False)
    else:
        lines = progress_lines(args)
    # Loading the backend says what it loads, then what the command does.
    label = 'setting up cinderlib' if command.backend else command.label(args)
    with lines.task(label) as task:
        yield task
