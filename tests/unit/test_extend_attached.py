"""An attached volume's handle sees its new size after extend().

The RBD handle of an attachment without the kernel is os-brick's
file-like over an open librbd image; librbd refreshes an open image when
it gets the resize's notice, and an image that missed it keeps writing
within the old size (EINVAL past it).  Here librbd is replaced, at the
boundary, by images that never refresh; tests/functional runs the real
thing on Ceph.  The file driver's attachment is its file: an open
descriptor sees the new size at once."""

import errno
import os
import types

import pytest
from os_brick.initiator import linuxrbd

import cinderlib
from cinderlib import connectors

GiB = 1024 ** 3
MiB = 1024 ** 2


class NeverRefreshedImage:
    """An open librbd image that keeps the size it had when opened."""

    def __init__(self, sizes, name):
        self.size_seen = sizes[name]
        self.closed = False

    def size(self):
        return self.size_seen

    def write(self, data, offset):
        if offset + len(data) > self.size_seen:
            raise OSError(errno.EINVAL, 'Invalid argument')
        return len(data)

    def close(self):
        self.closed = True


def librbd_handle(sizes, name):
    client = types.SimpleNamespace(ioctx=object(), rbd=types.SimpleNamespace(
        Image=lambda ioctx, image_name: NeverRefreshedImage(sizes,
                                                            image_name)))
    volume = linuxrbd.RBDVolume.__new__(linuxrbd.RBDVolume)
    volume.image = NeverRefreshedImage(sizes, name)
    volume.client = client
    volume.name = name
    return linuxrbd.RBDVolumeIOWrapper(
        linuxrbd.RBDImageMetadata(volume, 'volumes', 'cinder', ''))


def test_a_stale_librbd_handle_is_reopened_in_place():
    sizes = {'volume-1': GiB}
    handle = librbd_handle(sizes, 'volume-1')
    stale = handle._rbd_volume.image.image
    sizes['volume-1'] = 2 * GiB  # the driver resized it
    handle.seek(2 * GiB - MiB)
    with pytest.raises(OSError) as raised:
        handle.write(b'x' * MiB)
    assert raised.value.errno == errno.EINVAL

    seen = connectors.extend_device(None, {'data': {}}, {'path': handle},
                                    2 * GiB)

    assert seen == 2 * GiB
    assert stale.closed
    handle.seek(2 * GiB - MiB)
    handle.write(b'x' * MiB)  # the caller's same handle


def test_a_fresh_librbd_handle_is_kept():
    sizes = {'volume-1': 2 * GiB}
    handle = librbd_handle(sizes, 'volume-1')
    image = handle._rbd_volume.image.image
    assert connectors.extend_device(None, {'data': {}}, {'path': handle},
                                    2 * GiB) == 2 * GiB
    assert handle._rbd_volume.image.image is image and not image.closed


def test_file_attachment_sees_the_new_size_through_an_open_descriptor(
        tmp_path):
    backend = cinderlib.Backend(
        'files', volume_driver='cinderlib.drivers.file.FileVolumeDriver',
        file_volumes_dir=str(tmp_path / 'volumes'))
    volume = backend.create_volume(1)
    connection = volume.attach()
    fd = os.open(connection.path, os.O_RDWR)
    try:
        assert volume.extend(2) == 2 * GiB
        data = b'y' * MiB
        assert os.pwrite(fd, data, 2 * GiB - MiB) == MiB
        assert os.pread(fd, MiB, 2 * GiB - MiB) == data
        assert os.pread(fd, 1, 2 * GiB) == b''  # nothing past the end
    finally:
        os.close(fd)
        volume.detach()
    assert volume.status == 'available' and volume.size == 2
