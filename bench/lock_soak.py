"""Soak run of the locks: many operations on random volumes in one
process, sampling how many file descriptors the process holds open.

Every operation takes the lock of the volumes it works on, and with it
one of the lock files of the host.  Lock files the library kept open
after use would add up, one per stripe touched, until the process ran out
of descriptors; the count must stay flat instead.

    python bench/lock_soak.py [--operations 100000] [--samples 20]
                              [--nofile N]

Operations run on the in-memory test driver with memory persistence, on
a pool of volumes with random ids: create, extend, clone, snapshot (and
delete the snapshot), delete.  Prints one ``operations=N open_fds=M``
line per sample, then a summary; exits 1 when an operation fails or the
count grew.  ``--nofile`` lowers the soft limit of open descriptors
(RLIMIT_NOFILE) first, so that a leak fails early.
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import cinderlib  # noqa: E402

POOL = 64
# The count may move by a descriptor or two (a log file, the database
# of a plugin opening lazily), never by one per stripe touched.
TOLERANCE = 4


def open_descriptors():
    """How many descriptors this process holds (-1: none left to tell)."""
    try:
        return len(os.listdir('/proc/self/fd'))
    except OSError:
        return -1


class Soak:
    """The operations, on a pool of live volumes."""

    def __init__(self, backend, rng):
        self.backend = backend
        self.rng = rng
        self.volumes = []
        self.done = 0

    def step(self):
        """One or two operations on a random volume of the pool."""
        choice = self.rng.random()
        if len(self.volumes) < POOL // 2 or choice < 0.25:
            self.volumes.append(self.backend.create_volume(
                1, id=str(uuid.uuid4())))
            self.done += 1
        elif choice < 0.45:
            volume = self.rng.choice(self.volumes)
            volume.extend(volume.size + 1)
            self.done += 1
        elif choice < 0.6:
            source = self.rng.choice(self.volumes)
            self.volumes.append(source.clone(id=str(uuid.uuid4())))
            self.done += 1
        elif choice < 0.75:
            snapshot = self.rng.choice(self.volumes).create_snapshot()
            snapshot.delete()
            self.done += 2
        else:
            volume = self.volumes.pop(self.rng.randrange(len(self.volumes)))
            volume.delete()
            self.done += 1
        if len(self.volumes) > POOL:
            self.volumes.pop(0).delete()
            self.done += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--operations', type=int, default=100_000)
    parser.add_argument('--samples', type=int, default=20)
    parser.add_argument('--nofile', type=int, default=None,
                        help='soft limit of open descriptors to run with')
    parser.add_argument('--seed', type=int, default=None)
    args = parser.parse_args()
    if args.nofile:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, hard))
    with tempfile.TemporaryDirectory(prefix='cinderlib-soak-') as state:
        cinderlib.setup(state_path=state)
        backend = cinderlib.Backend(
            'soak', volume_driver='tests.memory_driver.MemoryVolumeDriver')
        soak = Soak(backend, random.Random(args.seed))
        every = max(1, args.operations // args.samples)
        samples = []
        next_sample = 0
        start = time.perf_counter()
        while soak.done < args.operations:
            if soak.done >= next_sample:
                samples.append((soak.done, open_descriptors()))
                print(f'operations={samples[-1][0]} '
                      f'open_fds={samples[-1][1]}', flush=True)
                next_sample += every
            try:
                soak.step()
            except Exception as exc:
                print(f'FAILED after {soak.done} operations with '
                      f'{open_descriptors()} descriptors open: '
                      f'{type(exc).__name__}: {exc}', flush=True)
                return 1
        elapsed = time.perf_counter() - start
        samples.append((soak.done, open_descriptors()))
        print(f'operations={samples[-1][0]} open_fds={samples[-1][1]}')
        for volume in soak.volumes:
            volume.delete()
        counts = [count for _, count in samples]
        grew = max(counts) - counts[0]
        print(f'{soak.done} operations in {elapsed:.1f} s '
              f'({soak.done / elapsed:.0f}/s); open descriptors '
              f'min {min(counts)} max {max(counts)} first {counts[0]} '
              f'last {counts[-1]}')
        if grew > TOLERANCE:
            print(f'FAILED: the count of open descriptors grew by {grew}')
            return 1
        return 0


if __name__ == '__main__':
    sys.exit(main())
