"""What the documentation's examples run in (``sphinx -b doctest``).

Every page's examples start in a new temporary directory, which is the
current directory and cinderlib's ``state_path``, with no backend loaded
and cinderlib set up with its defaults, as in a new process.  Afterwards
the backends are unloaded and the directory removed.
"""

import os
import shutil
import tempfile

_stack: list = []


def start() -> str:
    """Enter a new directory with cinderlib reset; returns the directory."""
    while _stack:  # a page whose set-up failed never ran its clean-up
        stop()
    directory = tempfile.mkdtemp(prefix='cinderlib-doctest-')
    _stack.append((os.getcwd(), directory))
    os.chdir(directory)
    _reset()
    import cinderlib
    cinderlib.setup()
    return directory


def stop() -> None:
    """Unload every backend, leave and remove the directory."""
    _reset()
    previous, directory = _stack.pop()
    os.chdir(previous)
    shutil.rmtree(directory, ignore_errors=True)


def _reset() -> None:
    from cinderlib import Backend
    for backend in list(Backend.backends.values()):
        backend.unload()
    Backend._options = None
