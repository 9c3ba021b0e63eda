"""Exit codes, and the one-line report of what failed."""

from __future__ import annotations

import sys
import traceback

from cinderlib import exception

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND = 1, 2, 3


class UsageError(Exception):
    """Bad arguments or configuration (exit code 2)."""


def exit_code(exc: BaseException) -> int:
    """The exit code for a command that raised ``exc``."""
    if isinstance(exc, (UsageError, ValueError, TypeError)):
        return EXIT_USAGE
    if isinstance(exc, exception.NotFound):
        return EXIT_NOT_FOUND
    return EXIT_FAILED


def report(exc: BaseException, debug: bool) -> int:
    """Say on stderr what failed (with ``debug``, the traceback); return
    the exit code."""
    if debug:
        traceback.print_exception(exc)
    else:
        print(f'cinderlib: {type(exc).__name__}: {exc}', file=sys.stderr)
    return exit_code(exc)
