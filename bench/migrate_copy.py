"""Volume.migrate's copy versus the system's own tools, in one run.

For file -> file, file -> Ceph and Ceph -> file, with dense data (the whole
volume random) and sparse data (16 extents of 4 MiB spread over it):

- ``copy``: the library's copy (``cinderlib.datacopy.copy``) between the
  two attachments a migration makes (the source and a fresh target volume
  attached through os-brick beforehand: a file path, or librbd's
  file-like object);
- ``migrate``: the whole ``Volume.migrate()`` (create the target, attach
  both, copy, swap, delete the source);
- the baseline between the same two volumes: ``dd bs=4M conv=fsync`` and
  ``cp --sparse=always`` for files; for Ceph (attached through librbd
  here: there is no kernel RBD device for ``dd``) Ceph's own ``rbd
  import`` and ``rbd export`` (C++, sparse) of the same data.

Prints MiB/s and each one's throughput relative to the fastest baseline
(>= 1: faster).  Starts a throw-away Ceph cluster (tools/ceph-up.sh)
unless ``CINDERLIB_CEPH_CONF`` and friends are set, or ``--no-ceph``.

    python bench/migrate_copy.py [--size-gib N] [--runs N] [--no-ceph]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cinderlib  # noqa: E402
from cinderlib import datacopy  # noqa: E402

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
GiB = 1024 ** 3
MiB = 1024 ** 2
CEPH_KEYS = ('CINDERLIB_CEPH_CONF', 'CINDERLIB_CEPH_KEYRING',
             'CINDERLIB_CEPH_POOL', 'CINDERLIB_CEPH_USER')


def median_seconds(function: Callable[[], None], runs: int) -> float:
    """Median seconds of ``function()`` over ``runs`` calls (as
    ``bench/timing.py``), the dirty pages of what ran before written out
    first: each sample pays only for its own writes."""
    def run() -> None:
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    samples: list[float] = []
    for _ in range(runs):
        os.sync()
        run()
    return statistics.median(samples)


def start_ceph(work: str) -> dict[str, str]:
    out = subprocess.run(['bash', os.path.join(ROOT, 'tools', 'ceph-up.sh'),
                          work], capture_output=True, text=True, check=True)
    settings = dict(line.split('=', 1) for line in out.stdout.splitlines()
                    if '=' in line)
    if settings.get('CINDERLIB_CEPH_PYTHONPATH') not in sys.path:
        sys.path.append(settings['CINDERLIB_CEPH_PYTHONPATH'])
    return settings


def fill(volume: cinderlib.Volume, dense: bool) -> None:
    connection = volume.attach()
    try:
        size = volume.size * GiB
        chunk = os.urandom(4 * MiB)
        if dense:
            extents = [(offset, chunk) for offset in range(0, size, 4 * MiB)]
        else:
            step = size // 16
            extents = [(n * step + step // 2, chunk) for n in range(16)]
        path = connection.path
        if isinstance(path, str):
            with open(path, 'r+b', buffering=0) as device:
                for offset, data in extents:
                    os.pwrite(device.fileno(), data, offset)
                os.fsync(device.fileno())
        else:
            for offset, data in extents:
                path.seek(offset)
                path.write(data)
            path.flush()
    finally:
        volume.detach()


def timed_copy(source: cinderlib.Volume, target_backend: cinderlib.Backend,
               runs: int) -> float:
    """The library's copy alone, between the two attachments a migration
    makes: the source and a fresh target volume, attached beforehand."""
    size = source.size * GiB
    src = source.attach()
    samples = []
    try:
        for _ in range(runs):
            target = target_backend.create_volume(source.size)
            dst = target.attach()
            try:
                samples.append(median_seconds(
                    lambda: datacopy.copy(src.path, dst.path, size,
                                          target_is_zeroed=True), 1))
            finally:
                target.detach()
                target.delete()
    finally:
        source.detach()
    return statistics.median(samples)


def timed_migrate(source: cinderlib.Volume, there: cinderlib.Backend,
                  back: cinderlib.Backend, runs: int) -> float:
    samples = []
    for _ in range(runs):
        samples.append(median_seconds(lambda: source.migrate(there), 1))
        source.migrate(back)
    return sorted(samples)[len(samples) // 2]


def file_baselines(source: cinderlib.Volume, target_backend: cinderlib.Backend,
                   runs: int) -> dict[str, float]:
    src = source.attach().path
    try:
        def tool(command: list[str]) -> float:
            def run() -> None:
                target = target_backend.create_volume(source.size)
                dst = target.attach().path
                try:
                    if command[0] == 'cp':  # it makes the file itself
                        os.unlink(dst)
                    subprocess.run([part.format(src=src, dst=dst)
                                    for part in command], check=True,
                                   capture_output=True)
                    if command[0] == 'cp':
                        with open(dst, 'rb') as copied:
                            os.fsync(copied.fileno())
                finally:
                    target.detach()
                    target.delete()
            return median_seconds(run, runs)
        return {'dd bs=4M conv=fsync': tool(
                    ['dd', 'if={src}', 'of={dst}', 'bs=4M', 'conv=fsync,'
                     'notrunc', 'status=none']),
                'cp --sparse=always': tool(
                    ['cp', '--sparse=always', '{src}', '{dst}'])}
    finally:
        source.detach()


def rbd_command(ceph: dict[str, str]) -> list[str]:
    return ['rbd', '--conf', ceph['CINDERLIB_CEPH_CONF'],
            '--keyring', ceph['CINDERLIB_CEPH_KEYRING'],
            '--id', ceph['CINDERLIB_CEPH_USER'],
            '--pool', ceph['CINDERLIB_CEPH_POOL']]


def rbd_baseline(source: cinderlib.Volume, ceph: dict[str, str], runs: int,
                 export: bool, work: str) -> dict[str, float]:
    """``rbd import`` of the file volume's file, or ``rbd export`` of the
    Ceph volume's image to a new file."""
    rbd = rbd_command(ceph)

    def run() -> None:
        if export:
            out = os.path.join(work, f'export-{uuid.uuid4()}')
            subprocess.run(rbd + ['export', source.name_in_storage, out],
                           check=True, capture_output=True)
            with open(out, 'rb') as copied:
                os.fsync(copied.fileno())
            os.unlink(out)
        else:
            image = f'bench-{uuid.uuid4()}'
            path = source.attach().path
            try:
                subprocess.run(rbd + ['import', path, image], check=True,
                               capture_output=True)
            finally:
                source.detach()
            subprocess.run(rbd + ['rm', image], check=True,
                           capture_output=True)
    name = 'rbd export' if export else 'rbd import'
    return {name: median_seconds(run, runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size-gib', type=int, default=1)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--no-ceph', action='store_true')
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='cinderlib-bench-migrate-')
    ceph = {key: os.environ[key] for key in CEPH_KEYS if key in os.environ}
    started = False
    if not args.no_ceph and len(ceph) < len(CEPH_KEYS):
        ceph = start_ceph(os.path.join(work, 'ceph'))
        started = True
    try:
        run(args, work, None if args.no_ceph else ceph)
    finally:
        if started:
            subprocess.run(['bash', os.path.join(ROOT, 'tools',
                                                 'ceph-down.sh'),
                            os.path.join(work, 'ceph')], check=False)
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: str,
        ceph: dict[str, str] | None) -> None:
    cinderlib.setup(state_path=work, disable_logs=True)
    files = [cinderlib.Backend(name, volume_driver=FILE_DRIVER,
                               file_volumes_dir=os.path.join(work, name))
             for name in ('files-a', 'files-b')]
    rbd = None
    if ceph:
        rbd = cinderlib.Backend(
            'ceph', volume_driver='cinder.volume.drivers.rbd.RBDDriver',
            rbd_pool=ceph['CINDERLIB_CEPH_POOL'],
            rbd_user=ceph['CINDERLIB_CEPH_USER'],
            rbd_ceph_conf=ceph['CINDERLIB_CEPH_CONF'],
            rbd_keyring_conf=ceph['CINDERLIB_CEPH_KEYRING'])
    size = args.size_gib * GiB
    print(f'volume {args.size_gib} GiB; medians of {args.runs} runs; '
          f'MiB/s of the volume size; ratio = throughput / the fastest '
          f'baseline')
    print(f'{"route":<14}{"data":<8}{"what":<22}{"MiB/s":>9}{"ratio":>8}')
    for dense in (True, False):
        data = 'dense' if dense else 'sparse'
        routes = [('file->file', files[0], files[1])]
        if rbd is not None:
            routes += [('file->ceph', files[0], rbd),
                       ('ceph->file', rbd, files[0])]
        for route, here, there in routes:
            source = here.create_volume(args.size_gib)
            fill(source, dense)
            if route == 'file->file':
                base = file_baselines(source, there, args.runs)
            else:
                base = rbd_baseline(source, ceph or {}, args.runs,
                                    export=route == 'ceph->file', work=work)
            figures = dict(base)
            figures['library copy'] = timed_copy(source, there, args.runs)
            figures['library migrate()'] = timed_migrate(
                source, there, here, args.runs)
            best = min(base.values())
            for what, seconds in figures.items():
                print(f'{route:<14}{data:<8}{what:<22}'
                      f'{size / MiB / seconds:>9.0f}{best / seconds:>8.2f}')
            source.delete()


if __name__ == '__main__':
    main()
