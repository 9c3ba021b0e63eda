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

The package: ``table`` lists the commands; each module of commands
(``general``, ``volume``, ``snapshot``, ``connection``) declares its
commands with their arguments next to their handlers (``command``);
``app`` builds the parser and runs ``main``; ``config`` builds the
backend, ``output`` prints and ``errors`` chooses exit codes.
"""

from cinderlib.cli.app import build_parser, main
from cinderlib.cli.command import PROGRESS_DELAY
from cinderlib.cli.config import DEFAULT_STATE
from cinderlib.cli.errors import (EXIT_FAILED, EXIT_NOT_FOUND, EXIT_USAGE,
                                  UsageError)

__all__ = ['DEFAULT_STATE', 'EXIT_FAILED', 'EXIT_NOT_FOUND', 'EXIT_USAGE',
           'PROGRESS_DELAY', 'UsageError', 'build_parser', 'main']
