"""Adopting what exists on the storage and releasing it, with real data:
an object made outside the library (a file, an RBD image made with the
``rbd`` module) is adopted, read, snapshotted and cloned, released, and
is still there with its bytes."""

import os
import uuid

import pytest

import cinderlib
from cinderlib import exception
from tests.functional.device_io import BLOCK, GiB, pattern, read

OFFSETS = {0: 'outside-start', GiB - BLOCK: 'outside-end'}


class FileStorage:
    """Objects of the file driver: files of its directory."""

    def __init__(self, driver):
        self.directory = driver.directory

    def make(self, name):
        with open(os.path.join(self.directory, name), 'wb') as file:
            file.truncate(GiB)
            for offset, label in OFFSETS.items():
                file.seek(offset)
                file.write(pattern(label))

    def read(self, name, offset):
        with open(os.path.join(self.directory, name), 'rb') as file:
            file.seek(offset)
            return file.read(BLOCK)

    def snapshot(self, volume_name, snapshot_name):
        with open(os.path.join(self.directory, volume_name), 'rb') as src:
            data = src.read(BLOCK)
        with open(os.path.join(self.directory, snapshot_name), 'wb') as dst:
            dst.truncate(GiB)
            dst.write(data)
        return snapshot_name

    def remove_snapshot(self, volume_name, snapshot_name):
        os.remove(os.path.join(self.directory, snapshot_name))


class RBDStorage:
    """Objects of the RBD driver: images of its pool, through the ``rbd``
    module on the driver's own connection settings."""

    def __init__(self, driver):
        # lazy: the Ceph bindings exist only where Ceph is installed
        import rbd
        from cinder.volume.drivers import rbd as rbd_driver
        self.rbd = rbd
        self.driver = driver
        self.connect = rbd_driver.RADOSClient

    def make(self, name):
        with self.connect(self.driver) as client:
            self.rbd.RBD().create(client.ioctx, name, GiB)
            with self.rbd.Image(client.ioctx, name) as image:
                for offset, label in OFFSETS.items():
                    image.write(pattern(label), offset)

    def read(self, name, offset):
        with self.connect(self.driver) as client:
            with self.rbd.Image(client.ioctx, name, read_only=True) as image:
                return image.read(offset, BLOCK)

    def snapshot(self, volume_name, snapshot_name):
        with self.connect(self.driver) as client:
            with self.rbd.Image(client.ioctx, volume_name) as image:
                image.create_snap(snapshot_name)
        return snapshot_name

    def remove_snapshot(self, volume_name, snapshot_name):
        with self.connect(self.driver) as client:
            with self.rbd.Image(client.ioctx, volume_name) as image:
                if image.is_protected_snap(snapshot_name):
                    image.unprotect_snap(snapshot_name)
                image.remove_snap(snapshot_name)


@pytest.fixture
def storage(backend):
    kind = type(backend.driver).__name__
    if kind == 'FileVolumeDriver':
        return FileStorage(backend.driver)
    if kind == 'RBDDriver':
        return RBDStorage(backend.driver)
    pytest.skip(f'no way to make {kind} objects outside the library')


def attached_read(volume, offsets):
    connection = volume.attach()
    try:
        return [read(connection, offset) for offset in offsets]
    finally:
        volume.detach()


def test_adopt_use_release_and_adopt_again(backend, storage):
    name = f'outside-{uuid.uuid4().hex[:8]}'
    storage.make(name)
    entries = {entry['reference']['source-name']: entry
               for entry in backend.list_manageable_volumes()}
    assert entries[name]['safe_to_manage'] is True
    assert entries[name]['size'] == 1

    volume = backend.manage_existing({'source-name': name}, name='adopted')
    assert (volume.size, volume.status) == (1, 'available')
    assert cinderlib.Volume.get_by_id(volume.id).status == 'available'
    assert attached_read(volume, OFFSETS) == [
        pattern(label) for label in OFFSETS.values()]
    with pytest.raises(exception.AlreadyManaged):
        backend.manage_existing({'source-name': volume.name_in_storage})

    snapshot = volume.create_snapshot()
    clone = volume.clone()
    try:
        assert attached_read(clone, [0]) == [pattern('outside-start')]
    finally:
        clone.delete()
        snapshot.delete()

    volume.unmanage()
    assert volume not in backend.volumes
    for offset, label in OFFSETS.items():
        assert storage.read(volume.name_in_storage, offset) == pattern(label)

    again = backend.manage_existing(
        {'source-name': volume.name_in_storage})
    assert attached_read(again, [0]) == [pattern('outside-start')]
    again.delete()


def test_adopt_and_release_a_snapshot(backend, storage):
    volume = backend.create_volume(1)
    try:
        outside = storage.snapshot(volume.name_in_storage,
                                   f'outside-snap-{uuid.uuid4().hex[:8]}')
        snapshot = volume.manage_existing_snapshot({'source-name': outside})
        assert (snapshot.volume_size, snapshot.status) == (1, 'available')
        assert volume.snapshots == [snapshot]
        restored = snapshot.create_volume()
        restored.delete()
        snapshot.unmanage()
        assert volume.snapshots == []
        storage.remove_snapshot(volume.name_in_storage,
                                snapshot.name_in_storage)
    finally:
        volume.delete()
