"""The demo: every operation on the embedded file backend, data verified.

It needs no storage array and no root: volumes are sparse files in a
directory.  Each step is printed with its timing; any data that does not
verify makes it fail.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from typing import Callable, Iterator, Optional, TextIO

import cinderlib
from cinderlib import progress as progress_lines

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
GiB = 1024 ** 3
BLOCK = 4096


class DemoFailure(Exception):
    """Data read back differs from what was written."""


def _write(path: str, offset: int, data: bytes) -> None:
    with open(path, 'r+b') as device:
        device.seek(offset)
        device.write(data)
        device.flush()
        os.fsync(device.fileno())


def _read(path: str, offset: int, length: int) -> bytes:
    with open(path, 'rb') as device:
        device.seek(offset)
        return device.read(length)


def _pattern(label: str) -> bytes:
    return (label.encode() * BLOCK)[:BLOCK]


class Demo:
    """Runs the steps, printing each with its duration; ``progress``
    shows the running step (on a terminal)."""

    def __init__(self, directory: str, out: TextIO,
                 progress: Optional[progress_lines.Progress] = None) -> None:
        self.directory = directory
        self.out = out
        self.progress = progress or progress_lines.Progress(
            out, enabled=False)
        self.steps = 0

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.steps += 1
        start = time.perf_counter()
        with self.progress.task(f'{self.steps:>2}. {title}'):
            yield
        elapsed = (time.perf_counter() - start) * 1000
        self.out.write(f'{self.steps:>2}. {title:<58}{elapsed:>9.1f} ms\n')
        self.out.flush()

    def verify(self, volume: cinderlib.Volume,
               checks: dict[int, bytes]) -> None:
        connection = volume.attach()
        try:
            for offset, expected in checks.items():
                if _read(connection.path, offset, BLOCK) != expected:
                    raise DemoFailure(
                        f'volume {volume.id}: unexpected data at {offset}')
        finally:
            volume.detach()

    def run(self) -> None:
        with self.step('set up a file backend in ' + self.directory):
            cinderlib.setup(state_path=self.directory)
            backend = cinderlib.Backend(
                'demo', volume_driver=FILE_DRIVER,
                file_volumes_dir=os.path.join(self.directory, 'volumes'))
        with self.step('create a 1 GiB volume'):
            volume = backend.create_volume(1, name='demo-volume')
        with self.step('attach it to this host'):
            connection = volume.attach()
        first, second = _pattern('first'), _pattern('second')
        end = GiB - BLOCK
        with self.step('write data at its start and at its end'):
            _write(connection.path, 0, first)
            _write(connection.path, end, first)
        with self.step('snapshot it'):
            snapshot = volume.create_snapshot(name='demo-snapshot')
        with self.step('write new data over the start'):
            _write(connection.path, 0, second)
        with self.step('create a 2 GiB volume from the snapshot'):
            restored = snapshot.create_volume(name='restored', size=2)
        with self.step('clone the volume'):
            clone = volume.clone(name='clone')
        with self.step('verify the volume from the snapshot (old data)'):
            self.verify(restored, {0: first, end: first,
                                   GiB: bytes(BLOCK)})
        with self.step('verify the clone (new data)'):
            self.verify(clone, {0: second, end: first})
        with self.step('extend the attached volume to 2 GiB'):
            new_size = volume.extend(2)
            if new_size != 2 * GiB or os.path.getsize(
                    connection.path) != 2 * GiB:
                raise DemoFailure(f'extend reported {new_size} bytes')
        with self.step('detach it'):
            volume.detach()
        with self.step('delete everything'):
            for item in (clone, restored, snapshot, volume):
                item.delete()
            backend.unload()
        left = os.listdir(os.path.join(self.directory, 'volumes'))
        if left:
            raise DemoFailure(f'files left behind: {left}')


def run_demo(directory: Optional[str] = None,
             out: Optional[TextIO] = None,
             on_error: Callable[[str], None] = print,
             progress: Optional[progress_lines.Progress] = None) -> int:
    """Run the demo in ``directory`` (a temporary one by default);
    ``progress`` shows the running step, for instance on a terminal."""
    out = out or sys.stdout
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = stack.enter_context(
                tempfile.TemporaryDirectory(prefix='cinderlib-demo-'))
        os.makedirs(directory, exist_ok=True)
        demo = Demo(os.path.abspath(directory), out, progress)
        start = time.perf_counter()
        try:
            demo.run()
        except Exception as exc:
            on_error(f'demo failed at step {demo.steps + 1}: '
                     f'{type(exc).__name__}: {exc}')
            return 1
        out.write(f'demo verified in '
                  f'{(time.perf_counter() - start) * 1000:.0f} ms\n')
    return 0
