"""Clone and snapshot on the file driver versus ``cp``, in one run.

A 1 GiB volume holding 256 MiB of data (16 MiB extents spread over the
volume) is cloned and snapshotted through the library; the same file is
copied with ``cp --reflink=auto --sparse=always``.  Prints median times,
the bytes the library really copied (0 for a reflink) and the
library/cp time ratio.

    python bench/file_copy.py [--dir DIR] [--runs N]

Run it with ``--dir`` on XFS or btrfs to see copy-on-write clones.
"""

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import cinderlib  # noqa: E402
from bench.timing import median_seconds as median_time  # noqa: E402

GiB = 1024 ** 3
MiB = 1024 ** 2


def fill(path):
    """256 MiB of data: 16 extents of 16 MiB, 64 MiB apart."""
    chunk = os.urandom(MiB)
    with open(path, 'r+b') as device:
        for extent in range(16):
            device.seek(extent * 64 * MiB)
            for _ in range(16):
                device.write(chunk)
        device.flush()
        os.fsync(device.fileno())


def allocated(path):
    return os.stat(path).st_blocks * 512


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dir', help='where the volumes live (default: a '
                                      'temporary directory)')
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()
    base = args.dir or tempfile.mkdtemp(prefix='cinderlib-bench-')
    cinderlib.setup(state_path=base)
    backend = cinderlib.Backend(
        'bench', volume_driver='cinderlib.drivers.file.FileVolumeDriver',
        file_volumes_dir=os.path.join(base, 'volumes'))
    driver = backend.driver
    source = backend.create_volume(1)
    source_path = driver.volume_path(source)
    fill(source_path)

    clones, snapshots = [], []
    clone_time = median_time(lambda: clones.append(source.clone()),
                             args.runs)
    clone_bytes, reflinked = driver.last_copy_bytes, (
        driver.last_copy_reflinked)
    snapshot_time = median_time(
        lambda: snapshots.append(source.create_snapshot()), args.runs)
    snapshot_bytes = driver.last_copy_bytes

    copies = []

    def cp():
        target = os.path.join(base, f'cp-{len(copies)}')
        subprocess.run(['cp', '--reflink=auto', '--sparse=always',
                        source_path, target], check=True)
        with open(target, 'rb') as copied:
            os.fsync(copied.fileno())
        copies.append(target)

    cp_time = median_time(cp, args.runs)

    print(f'volume: 1 GiB, {allocated(source_path) / MiB:.0f} MiB '
          f'allocated; directory {base}; reflink used: {reflinked}')
    print(f'{"operation":<22}{"median ms":>11}{"copied MiB":>12}'
          f'{"vs cp":>8}')
    print(f'{"library clone()":<22}{clone_time * 1e3:>11.1f}'
          f'{clone_bytes / MiB:>12.1f}{clone_time / cp_time:>8.2f}')
    print(f'{"library snapshot":<22}{snapshot_time * 1e3:>11.1f}'
          f'{snapshot_bytes / MiB:>12.1f}{snapshot_time / cp_time:>8.2f}')
    print(f'{"cp --reflink=auto":<22}{cp_time * 1e3:>11.1f}'
          f'{"n/a":>12}{1:>8.2f}')

    for snapshot in snapshots:
        snapshot.delete()
    for volume in clones + [source]:
        volume.delete()
    for path in copies:
        os.unlink(path)


if __name__ == '__main__':
    main()
