"""Volume.migrate with real bytes: from a file backend to each configured
backend (Ceph RBD in CI) and back, holes and data at the end included,
checksums compared."""

import os
import zlib

import pytest

import cinderlib
from tests.functional.device_io import GiB, opened

MiB = 1024 ** 2
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
# A hole first, data in the middle, written zeros, data in the last bytes.
PATTERN = [(5 * MiB + 512, b'migrate' * 150000),
           (400 * MiB, bytes(4 * MiB)), (GiB - 8192, b'tail' * 2048)]


def checksum(volume):
    """CRC-32 and length of the whole volume, read through its
    attachment (a path or librbd's file-like object)."""
    connection = volume.attach()
    try:
        with opened(connection) as device:
            device.seek(0)
            value, size = 0, 0
            while size < volume.size * GiB:
                block = device.read(8 * MiB)
                if not block:
                    break
                value = zlib.crc32(block, value)
                size += len(block)
            return value, size
    finally:
        volume.detach()


def write_pattern(volume):
    connection = volume.attach()
    try:
        with opened(connection) as device:
            for offset, data in PATTERN:
                device.seek(offset)
                device.write(data)
            device.flush()
    finally:
        volume.detach()


@pytest.fixture
def file_backend(backend, environment):
    """A file backend other than ``backend``, to migrate from and to."""
    directory = os.path.join(environment['CINDERLIB_FUNCTIONAL_DIR'],
                             'migrate-files')
    return cinderlib.Backend('migrate-files', volume_driver=FILE_DRIVER,
                             file_volumes_dir=directory)


def test_migrate_there_and_back(backend, file_backend):
    volume = file_backend.create_volume(1, name='travelling')
    try:
        write_pattern(volume)
        before = checksum(volume)
        seen = []
        volume.migrate(backend, progress=lambda d, t: seen.append(d))
        assert volume.backend is backend and volume.status == 'available'
        assert seen[-1] == GiB
        assert checksum(volume) == before
        # On the target its data is the library's like any volume's.
        clone = volume.clone()
        try:
            assert checksum(clone) == before
        finally:
            clone.delete()
        volume.migrate(file_backend)
        assert volume.backend is file_backend
        assert checksum(volume) == before
        assert [v.id for v in backend.volumes] == []
        assert os.listdir(file_backend.driver.directory) == [
            volume.name_in_storage]
    finally:
        volume.cleanup()
        volume.delete()


def test_failed_copy_leaves_nothing_on_the_target(backend, file_backend):
    volume = file_backend.create_volume(1)
    try:
        write_pattern(volume)
        before = checksum(volume)

        def fail(done, total):
            if done > total // 3:
                raise RuntimeError('interrupted')

        with pytest.raises(RuntimeError):
            volume.migrate(backend, progress=fail)
        assert volume.backend is file_backend
        assert volume.migration_status == 'error'
        assert backend.volumes == []
        assert checksum(volume) == before
    finally:
        volume.cleanup()
        volume.delete()
