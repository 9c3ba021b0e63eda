"""The directories cinderlib writes in: where they are by default, and the
check that keeps other users out of them.

Lock files are created in these directories by cinderlib, by
oslo.concurrency and by Cinder's coordinator; a user who could write there
could plant a symbolic link where one is about to be created, and have a
root process create or truncate a file anywhere.  So they must belong to
the user running cinderlib, and nobody else may write in them.
"""

from __future__ import annotations

import os
import stat

from cinderlib import exception

# root's default state directory: the same for every root process of the
# host, whatever its environment, home or working directory, so that
# they all share their lock files.
ROOT_STATE_PATH = '/var/lib/cinderlib'


def default_state_path() -> str:
    """``state_path`` when ``setup()`` is not given one.

    ``/var/lib/cinderlib`` for root; otherwise ``cinderlib`` in the user's
    state directory (``$XDG_STATE_HOME``, by default ``~/.local/state``).
    """
    if os.geteuid() == 0:
        return ROOT_STATE_PATH
    base = os.environ.get('XDG_STATE_HOME', '')
    if not os.path.isabs(base):  # unset, or invalid as the spec says
        base = os.path.join(os.path.expanduser('~'), '.local', 'state')
    return os.path.join(base, 'cinderlib')


def private_directory(path: str, field: str,
                      follow_symlinks: bool = True) -> str:
    """Make ``path`` (mode 0700) if it is missing, and refuse it if
    another user owns it or its group or others may write in it.

    ``field`` is the setting that named the directory, for the error.  A
    symbolic link is followed (an administrator may have moved the
    directory) unless ``follow_symlinks`` is False.
    """
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.stat(path) if follow_symlinks else os.lstat(path)
    except OSError as exc:
        raise exception.InvalidArgument(
            field, f'cannot create directory {path}: {exc.strerror}; '
                   f'give setup() a {field} this user can create') from None
    if not stat.S_ISDIR(info.st_mode):
        what = 'a symbolic link' if stat.S_ISLNK(info.st_mode) else (
            'not a directory')
        raise exception.InvalidArgument(
            field, f'{path} is {what}; remove it, or give setup() another '
                   f'{field}')
    user = os.geteuid()
    if info.st_uid != user:
        raise exception.InvalidArgument(
            field, f'directory {path} belongs to uid {info.st_uid}, not to '
                   f'this process (uid {user}); other users must not '
                   f'control where cinderlib creates its lock files: chown '
                   f'it, or give setup() a {field} of your own')
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        who = 'others' if info.st_mode & stat.S_IWOTH else 'its group'
        raise exception.InvalidArgument(
            field, f'directory {path} is writable by {who} (mode '
                   f'{stat.S_IMODE(info.st_mode):04o}); other users must not '
                   f'control where cinderlib creates its lock files: chmod '
                   f'go-w {path}, or give setup() a private {field}')
    return path
