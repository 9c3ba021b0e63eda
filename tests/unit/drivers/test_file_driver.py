"""The file driver through the library, with data read back from files."""

import os
import threading
from concurrent import futures

import pytest

import cinderlib
from cinderlib.drivers import file as file_driver

GiB = 1024 ** 3
BLOCK = 4096
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'


@pytest.fixture
def files(tmp_path):
    return cinderlib.Backend('files', volume_driver=FILE_DRIVER,
                             file_volumes_dir=str(tmp_path / 'volumes'))


def write(path, offset, data):
    with open(path, 'r+b') as device:
        device.seek(offset)
        device.write(data)


def read(path, offset, length=BLOCK):
    with open(path, 'rb') as device:
        device.seek(offset)
        return device.read(length)


def pattern(text):
    return (text.encode() * BLOCK)[:BLOCK]


def volume_file(backend, volume):
    return backend.driver.volume_path(volume)


@pytest.fixture
def written(files):
    """A 1 GiB volume with data at its start and at its very end."""
    volume = files.create_volume(1)
    path = volume_file(files, volume)
    write(path, 0, pattern('start'))
    write(path, GiB - BLOCK, pattern('end'))
    return volume


def test_create_makes_a_sparse_file(files):
    volume = files.create_volume(1)
    path = volume_file(files, volume)
    assert os.path.getsize(path) == GiB
    assert os.stat(path).st_blocks * 512 < 1024 * 1024
    assert volume.provider_location == path
    assert os.path.basename(path) == f'volume-{volume.id}'


def test_delete_removes_the_file_and_twice_is_fine(files):
    volume = files.create_volume(1)
    path = volume_file(files, volume)
    volume.delete()
    assert not os.path.exists(path)
    files.driver.delete_volume(volume._ovo)


def test_extend_grows_and_keeps_data(files, written):
    path = volume_file(files, written)
    assert written.extend(2) == 2 * GiB
    assert os.path.getsize(path) == 2 * GiB
    assert read(path, GiB - BLOCK) == pattern('end')
    with pytest.raises(Exception):
        files.driver.extend_volume(written._ovo, 1)


def test_clone_copies_data_and_may_be_larger(files, written):
    clone = written.clone(size=2)
    path = volume_file(files, clone)
    assert os.path.getsize(path) == 2 * GiB
    assert read(path, 0) == pattern('start')
    assert read(path, GiB - BLOCK) == pattern('end')
    assert read(path, GiB) == bytes(BLOCK)
    assert files.driver.last_copy_reflinked or (
        files.driver.last_copy_bytes <= 1024 * 1024)


def test_snapshot_is_independent_of_later_writes(files, written):
    snapshot = written.create_snapshot()
    write(volume_file(files, written), 0, pattern('later'))
    restored = snapshot.create_volume(size=3)
    path = volume_file(files, restored)
    assert read(path, 0) == pattern('start')
    assert read(path, GiB - BLOCK) == pattern('end')
    assert os.path.getsize(path) == 3 * GiB


def test_deleting_a_snapshot_keeps_its_volumes(files, written):
    snapshot = written.create_snapshot()
    restored = snapshot.create_volume()
    snapshot.delete()
    assert not os.path.exists(files.driver.snapshot_path(snapshot))
    assert read(volume_file(files, restored), 0) == pattern('start')


def test_stats_report_real_capacity(files, written):
    stats = files.stats(refresh=True)
    fs = os.statvfs(files.driver.directory)
    assert stats['total_capacity_gb'] == round(
        fs.f_frsize * fs.f_blocks / GiB, 2)
    assert 0 < stats['free_capacity_gb'] <= stats['total_capacity_gb']
    assert stats['provisioned_capacity_gb'] == 1
    assert stats['thin_provisioning_support'] is True
    assert stats['thick_provisioning_support'] is False
    assert files.pool_names == ('files',)


def test_attach_gives_a_path_to_read_and_write(files, written):
    connection = written.attach()
    assert connection.protocol == 'local'
    assert connection.path == volume_file(files, written)
    write(connection.path, BLOCK, pattern('attached'))
    assert read(connection.path, BLOCK) == pattern('attached')
    assert written.extend(2) == 2 * GiB
    written.detach()
    assert written.status == 'available'


def test_connect_gives_the_file_path(files, written):
    connection = written.connect({'host': 'elsewhere'})
    assert connection.conn_info == {
        'driver_volume_type': 'local',
        'data': {'device_path': volume_file(files, written),
                 'access_mode': 'rw'}}
    connection.disconnect()


@pytest.mark.parametrize('bad_id', ['../../etc/x', 'a/b', '..', ''])
def test_path_traversal_is_refused(tmp_path, files, bad_id):
    volume = files.create_volume(1)
    before = sorted(os.listdir(files.driver.directory))
    volume._ovo.id = bad_id
    with pytest.raises(Exception):
        files.driver.create_volume(volume._ovo)
    assert not os.path.exists(tmp_path / 'etc')
    assert sorted(os.listdir(files.driver.directory)) == before


def test_crash_during_copy_leaves_nothing_available(files, written,
                                                    monkeypatch):
    def crash(*args):
        raise OSError('disk pulled out')

    monkeypatch.setattr(file_driver, '_copy_range', crash)
    monkeypatch.setattr(file_driver, '_reflink', lambda src, dst: False)
    with pytest.raises(OSError) as error:
        written.clone()
    clone = error.value.resource
    assert clone.status == 'error'
    directory = files.driver.directory
    assert not os.path.exists(os.path.join(directory,
                                           f'volume-{clone.id}'))
    assert [n for n in os.listdir(directory)
            if n.startswith(file_driver.TEMP_PREFIX)] == []


def test_stale_temp_files_removed_at_setup(tmp_path):
    directory = tmp_path / 'volumes'
    directory.mkdir()
    (directory / f'{file_driver.TEMP_PREFIX}half-written').write_bytes(b'x')
    cinderlib.Backend('files', volume_driver=FILE_DRIVER,
                      file_volumes_dir=str(directory))
    assert os.listdir(directory) == []


def test_concurrent_clones_of_one_source(files, written):
    with futures.ThreadPoolExecutor(8) as pool:
        clones = list(pool.map(lambda _: written.clone(), range(8)))
    for clone in clones:
        path = volume_file(files, clone)
        assert read(path, 0) == pattern('start')
        assert read(path, GiB - BLOCK) == pattern('end')
    assert len(files.volumes) == 9


def test_unwritable_directory_is_refused(tmp_path):
    blocker = tmp_path / 'not-a-dir'
    blocker.write_text('')
    with pytest.raises(Exception):
        cinderlib.Backend('files', volume_driver=FILE_DRIVER,
                          file_volumes_dir=str(blocker))
    assert 'files' not in cinderlib.Backend.backends


def test_threads_write_distinct_volumes(files):
    def work(n):
        volume = files.create_volume(1)
        write(volume_file(files, volume), 0, pattern(f'v{n}'))
        return volume, n

    with futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(16)))
    for volume, n in results:
        assert read(volume_file(files, volume), 0) == pattern(f'v{n}')
    assert threading.active_count() >= 1
