"""A worker process of the lock order test: makes a new volume from a
source whose lock file is the new volume's lock file in the other worker,
and the other way round.

    python -m tests.reliability.cross_worker LOCK_DIR KIND SOURCE_ID NEW_ID

KIND is ``clone`` (``Volume.clone``) or ``snapshot``
(``Snapshot.create_volume``, SOURCE_ID being the snapshot's).  The
worker makes the source (memory persistence: its own), prints ``ready``,
waits for a line on stdin, then makes the new volume with every lock
acquisition followed by a pause, so that both workers hold their first
locks before either asks for more: two processes taking their lock files
in different orders deadlock.
Prints ``done`` at the end.
"""

import sys
import time

import cinderlib
from cinderlib import locks

PAUSE = 0.5


def main(lock_dir, kind, source_id, new_id):
    cinderlib.setup(state_path=lock_dir)
    backend = cinderlib.Backend(
        'cross', volume_driver='tests.memory_driver.MemoryVolumeDriver')
    if kind == 'snapshot':
        source = backend.create_volume(1).create_snapshot(id=source_id)
    else:
        source = backend.create_volume(1, id=source_id)
    acquire = locks._acquire

    def slow_acquire(*args, **kwargs):
        taken = acquire(*args, **kwargs)
        time.sleep(PAUSE)
        return taken

    locks._acquire = slow_acquire
    print('ready', flush=True)
    sys.stdin.readline()
    if kind == 'snapshot':
        source.create_volume(id=new_id)
    else:
        source.clone(id=new_id)
    print('done', flush=True)


if __name__ == '__main__':
    main(*sys.argv[1:])
