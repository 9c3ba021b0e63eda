"""Exit codes, chosen from the class of what was raised, and the one-line
report of what failed."""

from __future__ import annotations

import sys
import traceback

from cinderlib import exception
from cinderlib.cli.output import printable

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND = 1, 2, 3


class UsageError(Exception):
    """Bad arguments or configuration (exit code 2)."""


# The library's errors about its input (InvalidDriverOption is an
# InvalidArgument).  Other ValueErrors and TypeErrors are not the user's:
# a driver's or a bug.
USAGE_ERRORS = (UsageError, exception.InvalidArgument,
                exception.InvalidArgumentType, exception.InvalidPersistence)


def exit_code(exc: BaseException) -> int:
    """EXIT_USAGE, EXIT_NOT_FOUND, or EXIT_FAILED for anything else (the
    storage's or the driver's errors, bugs)."""
    if isinstance(exc, USAGE_ERRORS):
        return EXIT_USAGE
    # VolumeNotFound, SnapshotNotFound and ConnectionNotFound are Cinder's
    # NotFound; until Cinder is imported, nothing can have raised one.
    if 'cinder.exception' in sys.modules and isinstance(
            exc, exception.NotFound):
        return EXIT_NOT_FOUND
    return EXIT_FAILED


def report(exc: BaseException, debug: bool) -> int:
    """Say on stderr what failed: on one line, or with ``debug`` as a
    traceback; return the exit code."""
    if debug:
        traceback.print_exception(exc)
    else:
        print(f'cinderlib: {type(exc).__name__}: {printable(str(exc))}',
              file=sys.stderr)
    return exit_code(exc)
