"""A worker process of the revert crash test: reverts a volume to its
snapshot and is killed with SIGKILL inside one step of the revert.

    python -m tests.reliability.revert_worker STATE DB_URL DRIVER CRASH_IN

DRIVER is the file driver's dotted path (its own revert) or the one
without a revert (the generic way); CRASH_IN is a driver method
(``name`` to die before it runs, ``name:after`` once it has done its
work, as bench/crash.py arms them) or ``copy`` (inside the generic way's
copy, once it has written).
"""

import os
import signal
import sys

import cinderlib
from cinderlib.objects import revert
from tests.reliability.test_crash import crash


def main(state, url, driver, crash_in):
    cinderlib.setup(state_path=state, persistence_config={
        'storage': 'db', 'connection': url})
    backend = cinderlib.Backend('revert', volume_driver=driver,
                                file_volumes_dir=os.path.join(state, 'vols'))
    [volume] = backend.volumes
    [snapshot] = volume.snapshots
    if crash_in == 'copy':
        copy = revert.copy_device

        def dying_copy(*args):
            copy(*args)
            os.kill(os.getpid(), signal.SIGKILL)
        revert.copy_device = dying_copy
    else:
        crash.arm_crash(backend.driver, crash_in)
    volume.revert_to_snapshot(snapshot)


if __name__ == '__main__':
    main(*sys.argv[1:])
