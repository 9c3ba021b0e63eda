"""A worker process of the lock directory tests, run as root or as another
user: one scenario, whose outcome it prints as one line of JSON.

    python -m tests.reliability.lock_dir_worker SCENARIO WORK [ARG]

WORK is a directory of the user running the worker; it runs in WORK/cwd.
root's default state directory is redirected to WORK/root-state (the
real one is printed as ``root_default`` by ``default``).

- ``default``: ``setup()`` without directories, then operations and
  drivers' locks (oslo.concurrency's and Cinder's coordinator's); prints
  the state path and the mode of everything in it, and what the working
  directory holds.
- ``refused``: ``setup(**json.loads(ARG))`` (directories that must be
  refused); prints the error.
- ``symlink``: a symbolic link planted where the lock file of a new
  volume goes; prints the error of ``create_volume`` and whether the
  link's target was created.
"""

import json
import os
import stat
import sys
import uuid
import zlib

import cinderlib
from cinderlib import directories
from cinderlib import locks

DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
ROOT_DEFAULT = directories.ROOT_STATE_PATH


def error_of(function):
    try:
        function()
    except Exception as exc:
        return f'{type(exc).__name__}: {exc}'
    return None


def modes(top):
    found = {}
    for path, dirs, files in os.walk(top):
        for name in dirs + files:
            full = os.path.join(path, name)
            found[os.path.relpath(full, top)] = stat.S_IMODE(
                os.lstat(full).st_mode)
    return found


def default(work):
    result = {'root_default': ROOT_DEFAULT}
    cinderlib.setup()
    backend = cinderlib.Backend('dirs', volume_driver=DRIVER)
    volume = backend.create_volume(1)
    clone = volume.clone()
    volume.create_snapshot().delete()
    from cinder import coordination
    from cinder import utils

    @utils.synchronized('oslo-lock', external=True)
    @coordination.synchronized('coordinator-lock')
    def drivers_locks():
        pass

    drivers_locks()
    clone.delete()
    volume.delete()
    state_path = cinderlib.Backend.global_options().state_path
    result.update(state_path=state_path, modes=modes(state_path),
                  cwd=os.listdir('.'))
    return result


def refused(work, arguments):
    arguments = json.loads(arguments)
    return {'error': error_of(lambda: cinderlib.setup(**arguments)),
            'listing': {name: os.listdir(os.path.join(work, name))
                        for name in os.listdir(work)
                        if name != 'cwd' and os.path.isdir(
                            os.path.join(work, name))}}


def symlink(work):
    lock_dir = os.path.join(work, 'locks', 'cinderlib-locks')
    os.makedirs(lock_dir, mode=0o700)
    volume_id = str(uuid.uuid4())
    stripe = zlib.crc32(volume_id.encode()) % locks.STRIPES
    target = os.path.join(work, 'target')
    os.symlink(target, os.path.join(lock_dir, f'cinderlib-lock-{stripe:04d}'))
    cinderlib.setup(state_path=os.path.join(work, 'locks'))
    backend = cinderlib.Backend('dirs', volume_driver=DRIVER)
    error = error_of(lambda: backend.create_volume(1, id=volume_id))
    result = {'error': error, 'target_created': os.path.lexists(target),
              'volumes': [v.id for v in backend.volumes]}
    os.remove(os.path.join(lock_dir, f'cinderlib-lock-{stripe:04d}'))
    result['then'] = backend.create_volume(1, id=volume_id).status
    return result


def main(scenario, work, *args):
    os.chdir(os.path.join(work, 'cwd'))
    # Not the host's /var/lib/cinderlib.
    directories.ROOT_STATE_PATH = os.path.join(work, 'root-state')
    function = {'default': default, 'refused': refused,
                'symlink': symlink}[scenario]
    print(json.dumps(function(work, *args)))


if __name__ == '__main__':
    main(*sys.argv[1:])
