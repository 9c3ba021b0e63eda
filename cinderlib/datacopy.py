"""Copying the data of one attached volume to another, sparsely.

An attached device is what os-brick gives: a path (a block device, or a
file for the file backend) or a file-like object (RBD through librbd).
The copy reads large chunks into one reused buffer, skips the holes of a
source that has them (``SEEK_DATA``), and, when the target is known to
read zeros where nothing was written (a thin volume just created), does
not write chunks that are all zeros.  A zero chunk is found by comparing
the buffer with a preallocated zero buffer (``memcmp``), never byte by
byte in Python.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
from typing import Any, Callable, Iterator, Optional

#: Bytes read and written at a time when an end is a file-like object
#: (librbd: one request per call, 4 MiB is an RBD object).
CHUNK = 4 * 1024 * 1024
#: ... and between two file descriptors: the buffer and the zeros it is
#: compared with then stay in the CPU's cache (measured fastest, see
#: bench/migrate_copy.py); the page cache gathers the writes.
FD_CHUNK = 256 * 1024
_ZEROS = bytes(CHUNK)

Progress = Callable[[int, int], None]


@dataclasses.dataclass
class CopyResult:
    """What a copy did: bytes covered (the size), bytes written."""

    copied: int
    written: int


def file_extents(fd: int, size: int) -> Optional[list[tuple[int, int]]]:
    """``(offset, length)`` of the parts of the first ``size`` bytes of an
    open file that may hold data (the rest are holes, reading zeros);
    None where the file system cannot tell (a block device, no
    ``SEEK_DATA``)."""
    extents = []
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole is left
                break
            if offset == 0 and exc.errno in (errno.EINVAL, errno.EOPNOTSUPP):
                return None
            raise
        if start >= size:
            break
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        extents.append((start, end - start))
        offset = end
    return extents


class _Device:
    """One end of a copy: a file descriptor, or a file-like object."""

    def __init__(self, fd: Optional[int], stream: Any) -> None:
        self.fd = fd
        self.stream = stream

    def size(self) -> int:
        if self.fd is not None:
            return os.lseek(self.fd, 0, os.SEEK_END)
        self.stream.seek(0, os.SEEK_END)
        return int(self.stream.tell())

    def data_extents(self, size: int) -> Iterator[tuple[int, int]]:
        """``(offset, length)`` of the parts that may hold data; the
        whole device if it cannot tell (block devices)."""
        if self.fd is None:
            yield from self._stream_extents(size)
            return
        extents = file_extents(self.fd, size)
        yield from [(0, size)] if extents is None else extents

    def _stream_extents(self, size: int) -> Iterator[tuple[int, int]]:
        # os-brick's librbd file-like object shows its image: librbd
        # lists the objects that exist (the parent's too, for a clone),
        # as `rbd export` does; the rest reads zeros.
        image = getattr(self.stream, 'rbd_image', None)
        extents: list[tuple[int, int]] = []

        def found(offset: int, length: int, exists: bool) -> None:
            if exists:
                extents.append((offset, length))
        try:
            if image is None:
                raise AttributeError('rbd_image')
            image.diff_iterate(0, size, None, found, include_parent=True,
                               whole_object=True)
        except Exception:  # not librbd, or too old to tell: read it all
            yield 0, size
            return
        end = 0
        for start, length in sorted(extents):
            stop = min(start + length, size)
            start = max(start, end)
            if stop > start:
                yield start, stop - start
                end = stop

    def read_into(self, buffer: bytearray, view: memoryview, offset: int,
                  length: int) -> Any:
        """``length`` bytes at ``offset``: ``buffer`` (or a copy of its
        start, for less than its length) read in place, or the bytes a
        file-like object returned.  Never a memoryview: comparing one
        with bytes goes byte by byte."""
        if self.fd is not None:
            done = 0
            while done < length:
                count = os.preadv(self.fd, [view[done:length]],
                                  offset + done)
                if count == 0:
                    raise OSError(errno.EIO, f'short read at byte '
                                             f'{offset + done}')
                done += count
            return buffer if length == len(buffer) else buffer[:length]
        self.stream.seek(offset)
        data = self.stream.read(length)
        if len(data) != length:
            raise OSError(errno.EIO, f'short read at byte {offset}')
        return data

    def write(self, data: Any, offset: int) -> None:
        if self.fd is not None:
            view = memoryview(data)
            done = 0
            while done < len(view):
                done += os.pwrite(self.fd, view[done:], offset + done)
            return
        self.stream.seek(offset)
        # librbd takes only bytes.
        self.stream.write(data if isinstance(data, bytes) else bytes(data))

    def sync(self) -> None:
        if self.fd is not None:
            os.fsync(self.fd)
        else:
            self.stream.flush()


@contextlib.contextmanager
def _opened(path: Any, writable: bool) -> Iterator[_Device]:
    if not isinstance(path, str):
        yield _Device(None, path)
        return
    flags = (os.O_RDWR if writable else os.O_RDONLY) | os.O_CLOEXEC
    fd = os.open(path, flags)
    try:
        yield _Device(fd, None)
    finally:
        os.close(fd)


def copy(source: Any, target: Any, size: int, *, target_is_zeroed: bool,
         progress: Optional[Progress] = None,
         chunk: Optional[int] = None) -> CopyResult:
    """Copy the first ``size`` bytes of the attached device ``source`` to
    ``target`` (each a path or a file-like object), then flush it.

    ``target_is_zeroed``: the target reads zeros where nothing was
    written, so zero chunks and the source's holes are not written;
    otherwise every byte is.  ``progress(done, size)`` is called as the
    copy advances.  Both devices must hold at least ``size`` bytes
    (``OSError`` otherwise, before anything is written).  ``chunk``: the
    bytes read at a time (default ``FD_CHUNK`` between two paths, else
    ``CHUNK``).
    """
    written = 0
    with _opened(source, False) as src, _opened(target, True) as dst:
        if chunk is None:
            both_fds = src.fd is not None and dst.fd is not None
            chunk = FD_CHUNK if both_fds else CHUNK
        step = min(chunk, CHUNK)
        zeros = _ZEROS if step == CHUNK else _ZEROS[:step]
        buffer = bytearray(step)
        view = memoryview(buffer)
        for end, device in (('source', src), ('target', dst)):
            have = device.size()
            if have < size:
                raise OSError(errno.ENOSPC, f'the {end} holds {have} '
                                            f'bytes, {size} are copied')
        done = 0

        def fill_to(offset: int) -> None:
            """Cover a hole of the source up to ``offset``."""
            nonlocal done, written
            while done < offset:
                length = min(step, offset - done)
                if not target_is_zeroed:
                    dst.write(zeros if length == step else
                              zeros[:length], done)
                    written += length
                done += length
                if progress is not None:
                    progress(done, size)

        for start, length in src.data_extents(size):
            fill_to(start)
            stop = start + length
            while done < stop:
                count = min(step, stop - done)
                data = src.read_into(buffer, view, done, count)
                # bytes or bytearray against bytes: one memcmp.
                if not (target_is_zeroed and data == (
                        zeros if count == step else zeros[:count])):
                    dst.write(data, done)
                    written += count
                done += count
                if progress is not None:
                    progress(done, size)
        fill_to(size)
        dst.sync()
    return CopyResult(copied=done, written=written)
