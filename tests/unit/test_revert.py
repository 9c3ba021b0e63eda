"""Volume.revert_to_snapshot(): real bytes on the file driver (its own
revert, and Cinder's generic way through a driver without one), Cinder's
checks and failure states on the in-memory driver."""

import os

import pytest

import cinderlib
from cinderlib import exception
from cinderlib.objects import revert
from tests import no_revert_driver

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
GiB = 1024 ** 3
MiB = 1024 ** 2
BLOCK = 4096
# Where the patterns are written: the first block, one in the middle and
# the last one.
OFFSETS = (0, GiB // 2 + 3 * BLOCK, GiB - BLOCK)


def pattern(label):
    return (label.encode() * BLOCK)[:BLOCK]


def write(volume, label, offsets=OFFSETS):
    connection = volume.attach()
    try:
        with open(connection.path, 'r+b', buffering=0) as device:
            for offset in offsets:
                device.seek(offset)
                device.write(pattern(label))
            os.fsync(device.fileno())
    finally:
        volume.detach()


def read(volume, offsets=OFFSETS):
    connection = volume.attach()
    try:
        with open(connection.path, 'rb', buffering=0) as device:
            blocks = []
            for offset in offsets:
                device.seek(offset)
                blocks.append(device.read(BLOCK))
            return blocks
    finally:
        volume.detach()


@pytest.fixture(params=['native', 'generic'])
def file_backend(request, tmp_path):
    """The file driver with its own revert, and without one."""
    driver = FILE_DRIVER if request.param == 'native' else (
        no_revert_driver.DRIVER)
    return cinderlib.Backend(f'files-{request.param}', volume_driver=driver,
                             file_volumes_dir=str(tmp_path / 'volumes'))


def test_revert_brings_the_snapshot_data_back(file_backend, tmp_path):
    volume = file_backend.create_volume(1, name='data')
    write(volume, 'A')
    snapshot = volume.create_snapshot(name='A')
    write(volume, 'B')
    write(volume, 'C', offsets=(GiB // 4,))  # where the snapshot has a hole
    assert read(volume)[0] == pattern('B')

    volume.revert_to_snapshot(snapshot)

    assert read(volume) == [pattern('A')] * len(OFFSETS)
    assert read(volume, (GiB // 4,)) == [b'\0' * BLOCK]
    assert (volume.status, snapshot.status) == ('available', 'available')
    assert volume.connections == []
    # The generic way's temporary volume and backup snapshot are gone.
    assert [v.id for v in file_backend.volumes] == [volume.id]
    assert [s.id for s in volume.snapshots] == [snapshot.id]
    files = sorted(os.listdir(tmp_path / 'volumes'))
    assert files == sorted([f'volume-{volume.id}',
                            f'snapshot-{snapshot.id}'])
    stored = cinderlib.Volume.get_by_id(volume.id)
    assert stored.status == 'available'
    assert stored.snapshots[0].status == 'available'
    assert os.path.getsize(tmp_path / 'volumes' / f'volume-{volume.id}') == (
        GiB)


def test_reverting_twice_and_to_a_newer_snapshot(file_backend):
    volume = file_backend.create_volume(1)
    write(volume, 'A')
    first = volume.create_snapshot()
    write(volume, 'B')
    second = volume.create_snapshot()
    write(volume, 'C')
    volume.revert_to_snapshot(second)
    volume.revert_to_snapshot(second)
    assert read(volume) == [pattern('B')] * len(OFFSETS)
    with pytest.raises(exception.InvalidArgument, match='not the latest'):
        volume.revert_to_snapshot(first)
    second.delete()
    volume.revert_to_snapshot(first)
    assert read(volume) == [pattern('A')] * len(OFFSETS)


def test_generic_revert_failing_keeps_a_backup_and_leaves_nothing_else(
        tmp_path):
    backend = cinderlib.Backend('no-revert', volume_driver=(
        no_revert_driver.DRIVER), file_volumes_dir=str(tmp_path / 'vols'))
    volume = backend.create_volume(1)
    write(volume, 'A')
    snapshot = volume.create_snapshot()
    write(volume, 'B')
    snapshot_file = tmp_path / 'vols' / f'snapshot-{snapshot.id}'
    os.chmod(tmp_path / 'vols', 0o700)
    # The temporary volume is made from the snapshot's file: a snapshot
    # file replaced by a symbolic link is refused by the driver.
    snapshot_file.rename(tmp_path / 'snapshot-data')
    snapshot_file.unlink(missing_ok=True)
    snapshot_file.symlink_to('/etc/hostname')
    with pytest.raises(Exception, match='is a symbolic link'):
        volume.revert_to_snapshot(snapshot)
    assert (volume.status, snapshot.status) == ('error', 'available')
    volumes = backend.volumes
    assert [v.id for v in volumes] == [volume.id]
    # The backup snapshot taken first keeps the data as it was.
    [backup] = [s for s in volume.snapshots if s.id != snapshot.id]
    assert backup.name == f'[revert] volume {volume.id} backup snapshot'
    backup_file = tmp_path / 'vols' / f'snapshot-{backup.id}'
    with open(backup_file, 'rb') as backup_data:
        assert backup_data.read(BLOCK) == pattern('B')
    # Put right: the snapshot back, the backup deleted, reverting again.
    snapshot_file.unlink()
    (tmp_path / 'snapshot-data').rename(snapshot_file)
    backup.delete()
    volume.revert_to_snapshot(snapshot)
    assert volume.status == 'available'
    assert read(volume) == [pattern('A')] * len(OFFSETS)


def test_copy_device_writes_only_what_differs(tmp_path):
    source, target = tmp_path / 'source', tmp_path / 'target'
    for path in (source, target):
        with open(path, 'wb') as data:
            data.truncate(64 * MiB)
    with open(source, 'r+b') as data:
        data.seek(10 * MiB)
        data.write(b'x' * BLOCK)
    written = revert.copy_device(str(source), str(target), 64 * MiB)
    assert BLOCK <= written <= revert.COPY_CHUNK  # the changed region
    assert source.read_bytes() == target.read_bytes()
    assert revert.copy_device(str(source), str(target), 64 * MiB) == 0


# -- Cinder's checks and failure states, on the in-memory driver --------------
@pytest.fixture
def snapshot(volume):
    return volume.create_snapshot(name='latest')


def test_revert_calls_the_driver_between_a_backup_snapshot(
        volume, snapshot, driver):
    del driver.calls[:]
    volume.revert_to_snapshot(snapshot)
    [backup_create, revert_call, backup_delete] = driver.calls
    assert backup_create[0] == 'create_snapshot'
    assert revert_call == ('revert_to_snapshot', volume.id, snapshot.id)
    assert backup_delete == ('delete_snapshot', backup_create[1])
    assert volume.snapshots == [snapshot]
    assert volume.status == snapshot.status == 'available'


def test_only_the_latest_snapshot(volume, snapshot, driver):
    volume.create_snapshot(name='newer')
    del driver.calls[:]
    with pytest.raises(exception.InvalidArgument,
                       match=f'snapshot {snapshot.id} is not the latest'):
        volume.revert_to_snapshot(snapshot)
    assert driver.calls == []
    assert volume.status == snapshot.status == 'available'


def test_another_volumes_snapshot_is_refused(backend, snapshot, driver):
    other = backend.create_volume(1)
    del driver.calls[:]
    with pytest.raises(exception.InvalidArgument,
                       match=f'belongs to volume {snapshot.volume_id}, '
                             f'not to volume {other.id}'):
        other.revert_to_snapshot(snapshot)
    with pytest.raises(exception.InvalidArgumentType):
        other.revert_to_snapshot(snapshot.id)
    assert driver.calls == []


def test_connected_volume_is_refused(volume, snapshot, connector, driver):
    volume.connect(connector)
    del driver.calls[:]
    with pytest.raises(exception.InvalidVolume, match='is connected'):
        volume.revert_to_snapshot(snapshot)
    assert driver.calls == []
    assert volume.status == 'in-use'


def test_snapshot_not_available_is_refused(volume, snapshot):
    snapshot._ovo.status = 'error'
    snapshot.save()
    with pytest.raises(exception.InvalidSnapshot, match="'error'"):
        volume.revert_to_snapshot(snapshot)
    assert volume.status == 'available'


def test_snapshot_of_another_size_is_refused(volume, snapshot):
    volume.extend(2)
    with pytest.raises(exception.InvalidVolume, match='sizes must be equal'):
        volume.revert_to_snapshot(snapshot)
    assert volume.status == 'available'


def test_driver_failure_is_recorded_and_reverting_again_fixes_it(
        volume, snapshot, driver):
    driver.fail_on['revert_to_snapshot'] = RuntimeError('array offline')
    with pytest.raises(RuntimeError, match='array offline') as raised:
        volume.revert_to_snapshot(snapshot)
    assert raised.value.resource is volume
    stored = cinderlib.Volume.get_by_id(volume.id)
    assert stored.status == 'error'
    assert cinderlib.Snapshot.get_by_id(snapshot.id).status == 'available'
    # The backup snapshot stays, the data as it was before.
    [backup] = [s for s in stored.snapshots if s.id != snapshot.id]
    assert backup.status == 'available'
    del driver.fail_on['revert_to_snapshot']
    backup.delete()
    del driver.calls[:]
    volume.revert_to_snapshot(snapshot)
    # No backup of a volume in error: only the revert.
    assert driver.calls == [('revert_to_snapshot', volume.id, snapshot.id)]
    assert cinderlib.Volume.get_by_id(volume.id).status == 'available'


def test_generic_way_on_a_driver_without_revert(volume, snapshot, driver):
    driver.fail_on['revert_to_snapshot'] = NotImplementedError()
    del driver.calls[:]
    volume.revert_to_snapshot(snapshot)
    names = [call[0] for call in driver.calls]
    assert names[:3] == ['create_snapshot', 'revert_to_snapshot',
                         'create_volume_from_snapshot']
    temporary_id = driver.calls[2][1]
    assert ('delete_volume', temporary_id) in driver.calls
    assert names[-1] == 'delete_snapshot'
    assert [v.id for v in volume.backend.volumes] == [volume.id]
    assert volume.status == 'available' and volume.connections == []


def test_generic_way_failing_to_make_the_temporary_volume(
        volume, snapshot, driver):
    driver.fail_on['revert_to_snapshot'] = NotImplementedError()
    driver.fail_on['create_volume_from_snapshot'] = RuntimeError('no space')
    with pytest.raises(RuntimeError, match='no space'):
        volume.revert_to_snapshot(snapshot)
    assert [v.id for v in volume.backend.volumes] == [volume.id]
    assert volume.status == 'error' and snapshot.status == 'available'


def test_statuses_are_recorded_before_the_driver_is_called(
        volume, snapshot, driver, monkeypatch):
    seen = []

    def revert_to_snapshot(context, vol, snap):
        seen.append((cinderlib.Volume.get_by_id(vol.id).status,
                     cinderlib.Snapshot.get_by_id(snap.id).status))
    monkeypatch.setattr(driver, 'revert_to_snapshot', revert_to_snapshot)
    volume.revert_to_snapshot(snapshot)
    assert seen == [('reverting', 'restoring')]


def test_snapshot_loaded_on_its_own(volume, snapshot):
    loaded = cinderlib.Snapshot.get_by_id(snapshot.id)
    volume.revert_to_snapshot(loaded)
    assert loaded.volume is volume
    assert volume.status == loaded.status == 'available'
    assert cinderlib.Volume.get_by_id(volume.id).status == 'available'
