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
from typing import Any, Callable, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cinderlib  # noqa: E402
from bench.ceph_ops import start_ceph  # noqa: E402
from cinderlib import datacopy  # noqa: E402

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
GiB = 1024 ** 3
MiB = 1024 ** 2
CEPH_KEYS = ('CINDERLIB_CEPH_CONF', 'CINDERLIB_CEPH_KEYRING',
             'CINDERLIB_CEPH_POOL', 'CINDERLIB_CEPH_USER')


def timed(function: Callable[[], object]) -> float:
    """Seconds of ``function()``, the dirty pages of what ran before
    written out first: each sample pays only for its own writes."""
    os.sync()
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def with_target(backend: cinderlib.Backend, size_gib: int,
                copy: Callable[[str | object], object],
                unlink: bool = False) -> float:
    """Time ``copy(target's attachment)`` on a fresh target volume,
    attached beforehand as a migration does."""
    target = backend.create_volume(size_gib)
    path = target.attach().path
    try:
        if unlink:  # cp makes the file itself
            os.unlink(path)
        return timed(lambda: copy(path))
    finally:
        target.detach()
        target.delete()


def tool(words: list[str], fsync: Optional[str] = None) -> None:
    subprocess.run(words, check=True, capture_output=True)
    if fsync:
        with open(fsync, 'rb') as copied:
            os.fsync(copied.fileno())


def rbd_command(ceph: dict[str, str]) -> list[str]:
    return ['rbd', '--conf', ceph['CINDERLIB_CEPH_CONF'],
            '--keyring', ceph['CINDERLIB_CEPH_KEYRING'],
            '--id', ceph['CINDERLIB_CEPH_USER'],
            '--pool', ceph['CINDERLIB_CEPH_POOL']]


def methods(route: str, source: cinderlib.Volume, src: Any,
            here: cinderlib.Backend, there: cinderlib.Backend,
            ceph: Optional[dict[str, str]],
            work: str) -> dict[str, Callable[[], float]]:
    """Each way of copying the source (attached: ``src``) to ``there``,
    as a function returning the seconds of one sample."""
    size = source.size * GiB
    gib = source.size
    found: dict[str, Callable[[], float]] = {}
    if route == 'file->file':
        found['dd bs=4M conv=fsync'] = lambda: with_target(
            there, gib, lambda dst: tool(
                ['dd', f'if={src}', f'of={dst}', 'bs=4M',
                 'conv=fsync,notrunc', 'status=none']))
        found['cp --sparse=always'] = lambda: with_target(
            there, gib, lambda dst: tool(
                ['cp', '--sparse=always', src, str(dst)], fsync=str(dst)),
            unlink=True)
    elif route == 'file->ceph':
        rbd = rbd_command(ceph or {})

        def rbd_import() -> float:
            image = f'bench-{uuid.uuid4()}'
            seconds = timed(lambda: tool(rbd + ['import', src, image]))
            tool(rbd + ['rm', image])
            return seconds
        found['rbd import'] = rbd_import
    else:
        rbd = rbd_command(ceph or {})

        def rbd_export() -> float:
            out = os.path.join(work, f'export-{uuid.uuid4()}')
            seconds = timed(lambda: tool(
                rbd + ['export', source.name_in_storage, out], fsync=out))
            os.unlink(out)
            return seconds
        found['rbd export'] = rbd_export
    found['library copy'] = lambda: with_target(
        there, gib, lambda dst: datacopy.copy(src, dst, size,
                                              target_is_zeroed=True))
    return found


def migrate_seconds(source: cinderlib.Volume, there: cinderlib.Backend,
                    back: cinderlib.Backend) -> float:
    """The whole ``migrate()`` there (timed), then back (not timed)."""
    seconds = timed(lambda: source.migrate(there))
    source.migrate(back)
    return seconds


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
        ceph: Optional[dict[str, str]]) -> None:
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
    print(f'volume {args.size_gib} GiB; medians of {args.runs} runs, the '
          f'methods taking turns; MiB/s of the volume size; ratio = '
          f'throughput / the best baseline\'s')
    print(f'{"route":<12}{"data":<8}{"method":<22}{"MiB/s":>9}{"ratio":>8}')
    for dense in (True, False):
        data = 'dense' if dense else 'sparse'
        routes = [('file->file', files[0], files[1])]
        if rbd is not None:
            routes += [('file->ceph', files[0], rbd),
                       ('ceph->file', rbd, files[0])]
        for route, here, there in routes:
            source = here.create_volume(args.size_gib)
            fill(source, dense)
            samples: dict[str, list[float]] = {}
            src = source.attach().path
            try:
                ways = methods(route, source, src, here, there, ceph, work)
                for _ in range(args.runs):
                    for name, sample in ways.items():
                        samples.setdefault(name, []).append(sample())
            finally:
                source.detach()
            samples['library migrate()'] = [
                migrate_seconds(source, there, here)
                for _ in range(args.runs)]
            medians = {name: statistics.median(values)
                       for name, values in samples.items()}
            best = min(seconds for name, seconds in medians.items()
                       if not name.startswith('library'))
            for name, seconds in medians.items():
                print(f'{route:<12}{data:<8}{name:<22}'
                      f'{size / MiB / seconds:>9.0f}{best / seconds:>8.2f}',
                      flush=True)
            source.delete()


if __name__ == '__main__':
    main()
