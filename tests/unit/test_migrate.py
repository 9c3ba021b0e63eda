"""Volume.migrate between two file backends (and the in-memory driver for
failures), with real bytes: holes, data at the end, checksums."""

import os
import zlib

import pytest

import cinderlib
from cinderlib import exception
from tests.conftest import MEMORY_DRIVER

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
GiB = 1024 ** 3
MiB = 1024 ** 2
# (offset, data): a hole at the start, data in the middle, a block that is
# all zeros but written, and data in the last bytes.
PATTERN = [(3 * MiB + 17, b'middle' * 50000), (200 * MiB, bytes(5 * MiB)),
           (GiB - 4096, b'last' * 1024)]


@pytest.fixture
def backends(tmp_path):
    return [cinderlib.Backend(name, volume_driver=FILE_DRIVER,
                              file_volumes_dir=str(tmp_path / name))
            for name in ('source', 'target')]


def write_pattern(volume):
    connection = volume.attach()
    try:
        with open(connection.path, 'r+b') as device:
            for offset, data in PATTERN:
                device.seek(offset)
                device.write(data)
    finally:
        volume.detach()


def checksum(volume):
    """CRC-32 and size of the volume's data as read through its
    attachment; holes count as the zeros they read (not read: the
    file's data extents only, which keeps the tests fast)."""
    connection = volume.attach()
    try:
        return file_checksum(connection.path)
    finally:
        volume.detach()


def file_checksum(path):
    zeros = bytes(8 * MiB)
    crc, offset = 0, 0
    with open(path, 'rb', buffering=0) as device:
        fd = device.fileno()
        size = os.fstat(fd).st_size
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:  # ENXIO: a hole up to the end
                start = size
            while offset < start:
                count = min(len(zeros), start - offset)
                crc = zlib.crc32(memoryview(zeros)[:count], crc)
                offset += count
            end = os.lseek(fd, start, os.SEEK_HOLE) if start < size else size
            while offset < end:
                block = os.pread(fd, min(8 * MiB, end - offset), offset)
                crc = zlib.crc32(block, crc)
                offset += len(block)
    return crc, size


def files(backend):
    return sorted(os.listdir(backend.driver.directory))


def stored(volume_id):
    return cinderlib.Backend.persistence.get_volumes(volume_id=volume_id)


@pytest.fixture
def volume(backends):
    volume = backends[0].create_volume(1, name='data', description='mine')
    write_pattern(volume)
    return volume


def test_migrate_moves_the_data_and_keeps_the_id(backends, volume):
    source, target = backends
    before = checksum(volume)
    old_file = files(source)
    seen = []
    result = volume.migrate(target, progress=lambda d, t: seen.append((d, t)))
    assert result is volume
    assert volume.backend is target and volume.status == 'available'
    assert volume.migration_status == 'success'
    assert volume.host == f'{target.host_name}#target'
    assert volume.name_in_storage != f'volume-{volume.id}'
    assert files(source) == [] and old_file != files(target)
    assert files(target) == [volume.name_in_storage]
    assert checksum(volume) == before
    assert seen[-1] == (GiB, GiB)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    # The record points at the target; nothing else is stored.
    again = stored(volume.id)[0]
    assert again.backend_name == 'target' and again.name == 'data'
    assert [v.id for v in target.volumes] == [volume.id]
    assert source.volumes == []


def test_migrate_skips_holes_and_zeros(backends, volume):
    volume.migrate(backends[1])
    path = os.path.join(backends[1].driver.directory, volume.name_in_storage)
    allocated = os.stat(path).st_blocks * 512
    # The 5 MiB of written zeros and the holes are not written.
    assert allocated < 2 * MiB


def test_migrate_there_and_back_then_snapshot_and_clone(backends, volume):
    before = checksum(volume)
    volume.migrate(backends[1])
    volume.migrate(backends[0].id)  # a loaded backend's name will do
    assert volume.backend is backends[0]
    assert checksum(volume) == before
    assert files(backends[1]) == []
    clone = volume.create_snapshot().create_volume()
    assert checksum(clone) == before
    volume.extend(2)
    assert checksum(volume)[1] == 2 * GiB


def test_migrate_to_another_pool_of_the_same_backend_is_refused(
        backends, volume):
    with pytest.raises(exception.InvalidVolume, match='already on backend'):
        volume.migrate(backends[0])


@pytest.mark.parametrize('state', ['connected', 'snapshot', 'error'])
def test_migrate_refuses_busy_volumes(backends, volume, state, connector):
    if state == 'connected':
        volume.connect(connector)
    elif state == 'snapshot':
        volume.create_snapshot()
    else:
        volume._ovo.status = 'error'
        volume.save()
    status = volume.status
    with pytest.raises(exception.InvalidVolume, match='cannot migrate'):
        volume.migrate(backends[1])
    assert volume.status == status and volume.migration_status is None
    assert stored(volume.id)[0].backend_name == 'source'
    assert files(backends[1]) == []


def test_target_create_failure_changes_nothing(backends, volume, tmp_path):
    memory = cinderlib.Backend('memory', volume_driver=MEMORY_DRIVER,
                               memory_attach_dir=str(tmp_path))
    memory.driver.fail_on['create_volume'] = (
        RuntimeError('no space'))
    before = checksum(volume)
    with pytest.raises(Exception, match='no space'):
        volume.migrate(memory)
    assert volume.status == 'available' and volume.backend is backends[0]
    assert volume.migration_status == 'error'
    assert memory.volumes == [] and memory.driver.volumes == {}
    assert checksum(volume) == before
    assert stored(volume.id)[0].backend_name == 'source'


def test_copy_failure_keeps_the_source_and_removes_the_target(
        backends, volume):
    before = checksum(volume)

    def fail_halfway(done, total):
        if done > total // 2:
            raise RuntimeError('disk pulled out')

    with pytest.raises(RuntimeError, match='disk pulled out'):
        volume.migrate(backends[1], progress=fail_halfway)
    assert volume.status == 'available' and volume.backend is backends[0]
    assert volume.migration_status == 'error'
    assert files(backends[1]) == [] and backends[1].volumes == []
    assert volume.connections == []
    assert checksum(volume) == before
    # It can be migrated again.
    volume.migrate(backends[1])
    assert checksum(volume) == before


def test_old_storage_left_when_its_deletion_fails(
        backends, volume, monkeypatch):
    def refuse(driver_volume):
        raise OSError('busy')

    monkeypatch.setattr(backends[0].driver, 'delete_volume', refuse)
    before = checksum(volume)
    volume.migrate(backends[1])
    assert checksum(volume) == before
    left = backends[0].volumes
    assert [v.status for v in left] == ['error_deleting']
    assert left[0].migration_status == 'deleting'
    monkeypatch.undo()
    left[0].delete()
    assert files(backends[0]) == []


class Killed(BaseException):
    """Stands for the process dying: nothing catches it."""


@pytest.fixture
def db_backends(tmp_path):
    """The backends with the state in SQLite (what a crash leaves there is
    what another process would read)."""
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': f'sqlite:///{tmp_path}/st.sqlite'})
    return [cinderlib.Backend(name, volume_driver=FILE_DRIVER,
                              file_volumes_dir=str(tmp_path / name))
            for name in ('source', 'target')]


@pytest.fixture
def db_volume(db_backends):
    volume = db_backends[0].create_volume(1, name='data')
    write_pattern(volume)
    return volume


def test_recover_after_a_kill_once_swapped(db_backends, db_volume,
                                           monkeypatch):
    """Killed while deleting the old storage: its record is ``deleting``,
    and recover() deletes it like any volume being deleted."""
    source, target = db_backends
    volume = db_volume
    before = checksum(volume)

    def killed(driver_volume):
        raise Killed()

    monkeypatch.setattr(source.driver, 'delete_volume', killed)
    with pytest.raises(Killed):
        volume.migrate(target)
    monkeypatch.undo()
    assert [(v.status, v.migration_status) for v in source.volumes] == [
        ('deleting', 'deleting')]
    report = source.recover()
    assert [(e['was'], e['now']) for e in report] == [('deleting', 'deleted')]
    assert files(source) == [] and source.volumes == []
    volume = cinderlib.Volume.get_by_id(volume.id)
    assert volume.backend is target and checksum(volume) == before


def test_recover_a_target_the_source_already_took(db_backends, db_volume,
                                                  monkeypatch):
    """A plugin without transactions, killed between the two writes of
    the swap: the source names the target's storage, whose record
    recover() removes without touching the storage."""
    source, target = db_backends
    volume = db_volume
    before = checksum(volume)
    persistence = cinderlib.Backend.persistence
    set_objects = persistence.set_objects

    def first_only(objects):
        if {type(obj) for obj in objects} != {cinderlib.Volume}:
            return set_objects(objects)  # a connection of the copy
        persistence.set_volume(objects[0])
        raise Killed()

    monkeypatch.setattr(persistence, 'set_objects', first_only)
    with pytest.raises(Killed):
        volume.migrate(target)
    monkeypatch.undo()
    [left] = [v for v in target.volumes if v.id != volume.id]
    assert left.migration_status == f'target:{volume.id}'
    report = target.recover()
    assert [(e['id'], e['now']) for e in report] == [(left.id, 'deleted')]
    volume = cinderlib.Volume.get_by_id(volume.id)
    assert [v.id for v in target.volumes] == [volume.id]
    assert files(target) == [volume.name_in_storage]
    assert checksum(volume) == before
