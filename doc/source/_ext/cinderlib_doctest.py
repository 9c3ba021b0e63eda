"""What the documentation's examples run in (``sphinx -b doctest``).

Every page's examples start in a new temporary directory, which is the
current directory, with no backend loaded and cinderlib set up with its
defaults, as in a new process, except that the default ``state_path`` is
the ``cinderlib`` directory in it (not the user's).  Afterwards the backends
are unloaded and the directory removed.
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
    from cinderlib import directories
    _stack.append((os.getcwd(), directory, directories.ROOT_STATE_PATH,
                   os.environ.get('XDG_STATE_HOME')))
    os.chdir(directory)
    # The default state_path: DIRECTORY/cinderlib, for root or not.
    directories.ROOT_STATE_PATH = os.path.join(directory, 'cinderlib')
    os.environ['XDG_STATE_HOME'] = directory
    _reset()
    import cinderlib
    cinderlib.setup()
    return directory


def stop() -> None:
    """Unload every backend, leave and remove the directory."""
    _reset()
    from cinderlib import directories
    previous, directory, root_state, state_home = _stack.pop()
    os.chdir(previous)
    directories.ROOT_STATE_PATH = root_state
    if state_home is None:
        os.environ.pop('XDG_STATE_HOME', None)
    else:
        os.environ['XDG_STATE_HOME'] = state_home
    shutil.rmtree(directory, ignore_errors=True)


def _reset() -> None:
    from cinderlib import Backend
    for backend in list(Backend.backends.values()):
        backend.unload()
    Backend._options = None
