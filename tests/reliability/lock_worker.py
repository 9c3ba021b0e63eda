"""A worker process of the lock tests: adds 1 to a counter file N times,
reading, pausing and writing it back inside a critical section, so that
two workers not excluding each other lose updates.

    python -m tests.reliability.lock_worker KIND COUNTER N LOCK_DIR [URL]

KIND is ``resource`` (cinderlib's resource lock) or ``driver`` (Cinder's
``coordination.synchronized``, as drivers use it).  URL, if given, is the
coordination backend shared by "hosts" with different LOCK_DIRs.
"""

import sys
import time

import cinderlib
from cinderlib import locks


def main(kind, counter, count, lock_dir, url=None):
    cinderlib.setup(state_path=lock_dir, file_locks_path=lock_dir,
                    coordination_backend_url=url)
    cinderlib.Backend('locks', volume_driver='tests.memory_driver.'
                      'MemoryVolumeDriver')
    if kind == 'driver':
        from cinder import coordination
        section = coordination.synchronized('counter-{path}')
    else:
        def section(function):
            def locked(path):
                with locks.locked('volume-of-the-counter'):
                    function(path)
            return locked

    @section
    def add_one(path):
        with open(path) as source:
            value = int(source.read() or 0)
        time.sleep(0.002)
        with open(path, 'w') as target:
            target.write(str(value + 1))

    for _ in range(count):
        add_one(counter)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:])
