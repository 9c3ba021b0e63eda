"""Reading and writing an attached volume, whatever os-brick gave."""

import contextlib
import os

BLOCK = 4096
GiB = 1024 ** 3


@contextlib.contextmanager
def opened(connection):
    """A file-like object on the attached device: the path opened, or
    the object itself (RBD through librbd gives a file-like object)."""
    path = connection.path
    if isinstance(path, str):
        with open(path, 'r+b', buffering=0) as device:
            yield device
    else:
        yield path


def write(connection, offset, data):
    with opened(connection) as device:
        device.seek(offset)
        device.write(data)
        device.flush()
        if hasattr(device, 'fileno') and isinstance(connection.path, str):
            os.fsync(device.fileno())


def read(connection, offset, length=BLOCK):
    with opened(connection) as device:
        device.seek(offset)
        return device.read(length)


def pattern(label):
    return (label.encode() * BLOCK)[:BLOCK]
