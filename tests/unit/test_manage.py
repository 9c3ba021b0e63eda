"""Adopting storage objects made outside the library, and releasing them:
the error paths on the in-memory test driver, real files on the file
driver."""

import json
import os

import pytest
from cinder import exception as cinder_exception

import cinderlib
from cinderlib import exception
from cinderlib import states
from tests import memory_driver

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
UNMANAGEABLE = 'tests.memory_driver.UnmanageableMemoryVolumeDriver'
GiB = 1024 ** 3
MiB = 1024 ** 2


def stored_volume(volume_id):
    found = cinderlib.Backend.persistence.get_volumes(volume_id=volume_id)
    return found[0] if found else None


def stored_snapshot(snapshot_id):
    found = cinderlib.Backend.persistence.get_snapshots(
        snapshot_id=snapshot_id)
    return found[0] if found else None


# -- the in-memory driver: statuses and error paths ---------------------------

def test_manage_adopts_the_object_with_its_size(backend, driver):
    driver.volumes['outside'] = 3
    volume = backend.manage_existing({'source-name': 'outside'},
                                     name='adopted', metadata={'k': 'v'})
    assert volume.status == 'available'
    assert volume.size == 3
    assert volume.name == 'adopted'
    assert volume.metadata == {'k': 'v'}
    assert volume.provider_location == f'memory://{volume.name_in_storage}'
    assert driver.volumes == {volume.name_in_storage: 3}
    assert stored_volume(volume.id) is volume
    assert [call[0] for call in driver.calls[-2:]] == [
        'manage_existing_get_size', 'manage_existing']


def test_adopted_volume_works_as_any(backend, driver):
    driver.volumes['outside'] = 1
    volume = backend.manage_existing({'source-name': 'outside'})
    snapshot = volume.create_snapshot()
    clone = volume.clone()
    volume.extend(2)
    assert clone.status == snapshot.status == 'available'
    loaded = cinderlib.load(volume.jsons)
    assert loaded.id == volume.id and loaded.size == 2


def test_size_is_not_an_argument(backend, driver):
    driver.volumes['outside'] = 1
    with pytest.raises(exception.InvalidArgument, match='size'):
        backend.manage_existing({'source-name': 'outside'}, size=5)
    assert backend.volumes == [] and 'outside' in driver.volumes


@pytest.mark.parametrize('ref', [None, 'outside', {}, {'a': object()}])
def test_a_reference_must_be_a_dict(backend, ref):
    with pytest.raises((exception.InvalidArgument,
                        exception.InvalidArgumentType),
                       match='existing_ref'):
        backend.manage_existing(ref)
    assert backend.volumes == []


def test_unsupported_driver_is_refused_before_anything(tmp_path):
    backend = cinderlib.Backend('plain', volume_driver=UNMANAGEABLE,
                                memory_attach_dir=str(tmp_path))
    backend.driver.volumes['outside'] = 1
    with pytest.raises(exception.NotSupported) as error:
        backend.manage_existing({'source-name': 'outside'})
    assert str(error.value) == ('Driver UnmanageableMemoryVolumeDriver does '
                                'not support managing existing volumes')
    assert isinstance(error.value, NotImplementedError)
    for call in (backend.list_manageable_volumes,
                 backend.list_manageable_snapshots):
        with pytest.raises(exception.NotSupported, match='listing'):
            call()
    volume = backend.create_volume(1)
    with pytest.raises(exception.NotSupported, match='snapshots'):
        volume.manage_existing_snapshot({'source-name': 'snap'})
    assert backend.volumes == [volume] and volume.snapshots == []
    assert not [c for c in backend.driver.calls if 'manage' in c[0]]


def test_a_managed_reference_is_refused(backend, driver):
    volume = backend.create_volume(1)
    snapshot = volume.create_snapshot()
    calls = len(driver.calls)
    for ref in ({'source-name': volume.name_in_storage},
                {'source-id': volume.id},
                {'source-name': snapshot.name_in_storage}):
        with pytest.raises(exception.AlreadyManaged) as error:
            backend.manage_existing(ref)
        assert 'already managed as' in str(error.value)
    assert error.value.kind == 'snapshot'
    assert error.value.object_id == snapshot.id
    for name in (snapshot.name_in_storage, volume.name_in_storage):
        with pytest.raises(exception.AlreadyManaged):
            volume.manage_existing_snapshot({'source-name': name})
    assert len(driver.calls) == calls
    assert backend.volumes == [volume]
    assert volume.snapshots == [snapshot]


@pytest.mark.parametrize('size', [0, -1, None, 'big'])
def test_a_driver_size_that_is_no_size_is_refused(backend, driver, size):
    driver.volumes['outside'] = size
    with pytest.raises(exception.InvalidArgument, match='existing_ref'):
        backend.manage_existing({'source-name': 'outside'})
    assert backend.volumes == [] and 'outside' in driver.volumes


def test_an_unknown_reference_leaves_no_record(backend, driver):
    with pytest.raises(memory_driver.MemoryDriverError):
        backend.manage_existing({'source-name': 'nothing'})
    assert backend.volumes == []


def test_driver_failure_leaves_error_managing(backend, driver):
    driver.volumes['outside'] = 2
    driver.fail_on['manage_existing'] = RuntimeError('array busy')
    with pytest.raises(RuntimeError) as error:
        backend.manage_existing({'source-name': 'outside'}, name='x')
    volume = error.value.resource
    assert volume.status == 'error_managing'
    assert stored_volume(volume.id).status == 'error_managing'
    assert stored_volume(volume.id).size == 2
    # Releasing it forgets the record and leaves the storage alone.
    del driver.fail_on['manage_existing']
    volume.unmanage()
    assert stored_volume(volume.id) is None
    assert driver.volumes == {'outside': 2}


def test_unmanage_leaves_the_data(backend, driver):
    volume = backend.create_volume(2)
    volume.unmanage()
    assert (volume.status, volume.deleted) == ('deleted', True)
    assert stored_volume(volume.id) is None
    assert driver.volumes == {volume.name_in_storage: 2}
    assert 'delete_volume' not in [call[0] for call in driver.calls]
    # ...and it can be adopted again.
    again = backend.manage_existing(
        {'source-name': volume.name_in_storage})
    assert driver.volumes == {again.name_in_storage: 2}


def test_unmanage_is_refused_with_snapshots_or_connections(
        backend, volume, connector):
    snapshot = volume.create_snapshot()
    with pytest.raises(exception.InvalidVolume, match='snapshots'):
        volume.unmanage()
    snapshot.delete()
    connection = volume.connect(connector)
    with pytest.raises(exception.InvalidVolume, match='connected'):
        volume.unmanage()
    connection.disconnect()
    volume.unmanage()


def test_unmanage_failure_is_recorded_and_retried(backend, driver, volume):
    driver.fail_on['unmanage'] = RuntimeError('no')
    with pytest.raises(RuntimeError):
        volume.unmanage()
    assert stored_volume(volume.id).status == 'error_unmanaging'
    del driver.fail_on['unmanage']
    volume.unmanage()
    assert stored_volume(volume.id) is None


def test_manage_and_unmanage_snapshot(backend, driver, volume):
    driver.snapshots['snap-outside'] = 1
    snapshot = volume.manage_existing_snapshot(
        {'source-name': 'snap-outside'}, name='adopted')
    assert snapshot.status == 'available'
    assert snapshot.name == 'adopted'
    assert snapshot.volume_size == 1
    assert volume.snapshots == [snapshot]
    assert stored_snapshot(snapshot.id) is snapshot
    assert driver.snapshots == {snapshot.name_in_storage: 1}
    restored = snapshot.create_volume()
    assert restored.status == 'available'
    snapshot.unmanage()
    assert volume.snapshots == []
    assert stored_snapshot(snapshot.id) is None
    assert driver.snapshots == {snapshot.name_in_storage: 1}


def test_snapshot_driver_failure_leaves_error(backend, driver, volume):
    driver.snapshots['snap-outside'] = 1
    driver.fail_on['manage_existing_snapshot'] = RuntimeError('no')
    with pytest.raises(RuntimeError) as error:
        volume.manage_existing_snapshot({'source-name': 'snap-outside'})
    snapshot = error.value.resource
    assert stored_snapshot(snapshot.id).status == 'error'
    assert volume.status == 'available'


def test_list_manageable_volumes(backend, driver):
    managed = backend.create_volume(1)
    driver.volumes['b-outside'] = 2
    driver.volumes['a-outside'] = 1
    entries = backend.list_manageable_volumes()
    assert [e['reference']['source-name'] for e in entries] == [
        managed.name_in_storage, 'b-outside', 'a-outside']
    assert entries[0]['safe_to_manage'] is False
    assert entries[0]['cinder_id'] == managed.id
    assert entries[1] == {'reference': {'source-name': 'b-outside'},
                          'size': 2, 'safe_to_manage': True,
                          'reason_not_safe': None, 'cinder_id': None,
                          'extra_info': None}
    by_size = backend.list_manageable_volumes(
        sort_keys=['size', 'reference'], sort_dirs=['asc', 'asc'], limit=2)
    assert [e['reference']['source-name'] for e in by_size] == [
        'a-outside', managed.name_in_storage]
    after = backend.list_manageable_volumes(
        marker={'source-name': 'b-outside'})
    assert [e['reference']['source-name'] for e in after] == ['a-outside']
    json.dumps(entries)


def test_list_manageable_snapshots(backend, driver, volume):
    driver.snapshots['snap-outside'] = 1
    snapshot = volume.create_snapshot()
    entries = backend.list_manageable_snapshots(sort_dirs=['asc'])
    assert [(e['reference']['source-name'], e['cinder_id'])
            for e in entries] == [('snap-outside', None),
                                  (snapshot.name_in_storage, snapshot.id)]


@pytest.mark.parametrize('arguments', [
    {'sort_keys': ['name']}, {'sort_dirs': ['up']}, {'sort_keys': 'size'},
    {'limit': -1}, {'offset': 'x'},
    {'sort_keys': ['size'], 'sort_dirs': ['asc', 'desc']}])
def test_list_arguments_are_checked(backend, arguments):
    with pytest.raises(exception.InvalidArgument):
        backend.list_manageable_volumes(**arguments)


def test_recover_settles_managing_and_unmanaging(backend, driver):
    driver.volumes['outside'] = 1
    volume = backend.manage_existing({'source-name': 'outside'})
    other = backend.create_volume(1)
    # What a process that died in the middle of each leaves.
    volume._ovo.status = states.Status.MANAGING
    volume.save()
    other._ovo.status = states.Status.UNMANAGING
    other.save()
    report = sorted(backend.recover(), key=lambda e: e['was'])
    assert report == [
        {'resource': 'volume', 'id': volume.id, 'was': 'managing',
         'now': 'error_managing'},
        {'resource': 'volume', 'id': other.id, 'was': 'unmanaging',
         'now': 'deleted'}]
    assert stored_volume(volume.id).status == 'error_managing'
    assert stored_volume(other.id) is None
    assert other.name_in_storage in driver.volumes


def test_unmanage_is_refused_while_an_operation_runs(backend, volume):
    volume._ovo.status = states.Status.EXTENDING
    volume.save()
    with pytest.raises(exception.InvalidArgument, match='extending'):
        volume.unmanage()
    assert stored_volume(volume.id) is volume


# -- the file driver: real files ----------------------------------------------

@pytest.fixture
def files(tmp_path):
    return cinderlib.Backend('files', volume_driver=FILE_DRIVER,
                             file_volumes_dir=str(tmp_path / 'volumes'))


def _write_outside(directory, name, size, chunks):
    """A sparse file made without the library: ``chunks`` of bytes at
    offsets."""
    path = os.path.join(directory, name)
    with open(path, 'wb') as file:
        file.truncate(size)
        for offset, data in chunks.items():
            file.seek(offset)
            file.write(data)
    return path


def _read(path, offset, length):
    with open(path, 'rb') as file:
        file.seek(offset)
        return file.read(length)


CHUNKS = {0: b'boot sector', 5 * MiB: b'middle', GiB - 4: b'last'}


def test_file_adopted_volume_reads_snapshots_and_clones(files):
    directory = files.driver.directory
    source = _write_outside(directory, 'disk.img', GiB, CHUNKS)
    volume = files.manage_existing({'source-name': 'disk.img'}, name='disk')
    assert volume.size == 1 and volume.status == 'available'
    assert not os.path.exists(source)
    connection = volume.attach()
    try:
        for offset, data in CHUNKS.items():
            assert _read(connection.path, offset, len(data)) == data
    finally:
        volume.detach()
    snapshot = volume.create_snapshot()
    clone = volume.clone()
    restored = snapshot.create_volume()
    for copy in (clone, restored):
        path = files.driver.volume_path(copy)
        assert _read(path, 5 * MiB, 6) == b'middle'
    # Released, the file stays with its bytes, and can be adopted again.
    restored.delete()
    snapshot.delete()
    volume.unmanage()
    path = files.driver.volume_path(volume)
    assert os.path.getsize(path) == GiB
    for offset, data in CHUNKS.items():
        assert _read(path, offset, len(data)) == data
    assert stored_volume(volume.id) is None
    name = os.path.basename(path)
    again = files.manage_existing({'source-name': name})
    assert _read(files.driver.volume_path(again), 0, 11) == b'boot sector'


def test_file_not_whole_gib_is_grown_with_zeros(files):
    directory = files.driver.directory
    _write_outside(directory, 'small', 3 * MiB + 1, {0: b'data'})
    volume = files.manage_existing({'source-name': 'small'})
    path = files.driver.volume_path(volume)
    assert volume.size == 1
    assert os.path.getsize(path) == GiB
    assert _read(path, 0, 4) == b'data'
    assert _read(path, 3 * MiB, 4096) == b'\0' * 4096


def test_file_manageable_listing(files, tmp_path):
    directory = files.driver.directory
    managed = files.create_volume(1)
    snapshot = managed.create_snapshot()
    _write_outside(directory, 'free.img', 2 * GiB, {})
    os.symlink('/etc/passwd', os.path.join(directory, 'link'))
    _write_outside(directory, 'linked', MiB, {})
    os.link(os.path.join(directory, 'linked'), str(tmp_path / 'other'))
    os.mkdir(os.path.join(directory, 'subdir'))
    entries = {e['reference']['source-name']: e
               for e in files.list_manageable_volumes()}
    assert set(entries) == {managed.name_in_storage,
                            snapshot.name_in_storage, 'free.img', 'link',
                            'linked'}
    assert entries['free.img']['safe_to_manage'] is True
    assert entries['free.img']['size'] == 2
    assert entries[managed.name_in_storage]['cinder_id'] == managed.id
    assert entries[snapshot.name_in_storage]['cinder_id'] == snapshot.id
    assert entries['link']['reason_not_safe'] == 'it is a symbolic link'
    assert entries['linked']['reason_not_safe'] == 'it has other hard links'
    snapshots = files.list_manageable_snapshots()
    assert [e['cinder_id'] for e in snapshots] == [snapshot.id]


@pytest.mark.parametrize('name, reason', [
    ('link', 'symbolic link'), ('linked', 'hard links'),
    ('../escape', 'not a plain file name'), ('subdir', 'not a regular'),
    ('missing', 'no file'), ('.tmp-1-x', 'temporary'),
    ('volume-..abc', 'hashed')])
def test_file_unsafe_references_are_refused(files, tmp_path, name, reason):
    directory = files.driver.directory
    os.symlink(str(tmp_path / 'target'), os.path.join(directory, 'link'))
    _write_outside(str(tmp_path), 'target', MiB, {0: b'keep'})
    _write_outside(directory, 'linked', MiB, {})
    os.link(os.path.join(directory, 'linked'), str(tmp_path / 'other'))
    os.mkdir(os.path.join(directory, 'subdir'))
    _write_outside(directory, '.tmp-1-x', MiB, {})
    _write_outside(directory, 'volume-..abc', MiB, {})
    with pytest.raises(cinder_exception.ManageExistingInvalidReference) as (
            error):
        files.manage_existing({'source-name': name})
    assert reason in str(error.value)
    assert files.volumes == []
    assert os.path.lexists(os.path.join(directory, name)) == (
        name not in ('missing', '../escape'))
    assert _read(str(tmp_path / 'target'), 0, 4) == b'keep'


def test_file_adopted_snapshot(files):
    directory = files.driver.directory
    volume = files.create_volume(1)
    _write_outside(directory, 'snapshot-old', GiB, {7: b'seven'})
    snapshot = volume.manage_existing_snapshot({'source-name': 'snapshot-old'})
    assert snapshot.volume_size == 1
    restored = snapshot.create_volume()
    assert _read(files.driver.volume_path(restored), 7, 5) == b'seven'
    snapshot.unmanage()
    path = files.driver.snapshot_path(snapshot)
    assert _read(path, 7, 5) == b'seven'
    assert volume.snapshots == []


def test_an_existing_id_is_refused_before_the_driver(backend, driver):
    volume = backend.create_volume(1)
    driver.volumes['outside'] = 1
    calls = len(driver.calls)
    with pytest.raises(exception.AlreadyExists):
        backend.manage_existing({'source-name': 'outside'}, id=volume.id)
    assert len(driver.calls) == calls
    assert 'outside' in driver.volumes and backend.volumes == [volume]
