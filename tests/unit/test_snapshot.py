"""Snapshots and volumes created from them."""

import pytest

import cinderlib
from cinderlib import exception


@pytest.fixture
def multipool(tmp_path):
    return cinderlib.Backend('pools', volume_driver=(
        'tests.memory_driver.MemoryVolumeDriver'),
        memory_pools=['gold', 'silver'], memory_attach_dir=str(tmp_path))


def test_create_snapshot(driver, volume):
    snapshot = volume.create_snapshot(name='snap', description='first')
    assert snapshot.status == 'available'
    assert snapshot.name == 'snap'
    assert snapshot.description == 'first'
    assert snapshot.volume is volume
    assert snapshot.volume_id == volume.id
    assert snapshot.volume_size == 1
    assert volume.snapshots == [snapshot]
    assert f'snapshot-{snapshot.id}' in driver.snapshots
    assert cinderlib.Snapshot.get_by_id(snapshot.id) is snapshot
    assert cinderlib.Snapshot.get_by_name('snap') == [snapshot]


def test_failed_snapshot_never_changes_its_volume(driver, volume):
    driver.fail_on['create_snapshot'] = RuntimeError('busy')
    with pytest.raises(RuntimeError) as error:
        volume.create_snapshot()
    snapshot = error.value.resource
    assert snapshot.status == 'error'
    assert cinderlib.Snapshot.get_by_id(snapshot.id).status == 'error'
    assert volume.status == 'available'
    assert cinderlib.Volume.get_by_id(volume.id).status == 'available'


def test_delete_snapshot_twice_is_harmless(driver, volume):
    snapshot = volume.create_snapshot()
    snapshot.delete()
    snapshot.delete()
    assert snapshot.status == 'deleted'
    assert volume.snapshots == []
    assert cinderlib.Backend.persistence.get_snapshots(
        snapshot_id=snapshot.id) == []
    assert [c[0] for c in driver.calls].count('delete_snapshot') == 1


def test_delete_snapshot_failure_sets_error_deleting(driver, volume):
    snapshot = volume.create_snapshot()
    driver.fail_on['delete_snapshot'] = RuntimeError('locked')
    with pytest.raises(RuntimeError):
        snapshot.delete()
    assert cinderlib.Snapshot.get_by_id(snapshot.id).status == (
        'error_deleting')


def test_volume_from_snapshot_defaults_to_volume_size(backend, driver):
    volume = backend.create_volume(2, extra_specs={'x': 'y'})
    snapshot = volume.create_snapshot()
    new_volume = snapshot.create_volume(name='restored')
    assert new_volume.size == 2
    assert new_volume.snapshot_id == snapshot.id
    assert new_volume.status == 'available'
    assert new_volume.volume_type.extra_specs == {'x': 'y'}
    assert new_volume.created_at > snapshot.created_at
    assert driver.volumes[new_volume.name_in_storage] == 2


def test_volume_from_snapshot_larger_and_not_smaller(backend):
    volume = backend.create_volume(2)
    snapshot = volume.create_snapshot()
    assert snapshot.create_volume(size=5).size == 5
    with pytest.raises(exception.InvalidArgument):
        snapshot.create_volume(size=1)


def test_pool_name_honoured_by_clone_and_volume_from_snapshot(multipool):
    assert multipool.pool_names == ('gold', 'silver')
    volume = multipool.create_volume(1, pool_name='gold')
    assert volume.pool_name == 'gold'
    assert volume.clone(pool_name='silver').pool_name == 'silver'
    assert volume.clone().pool_name == 'gold'
    snapshot = volume.create_snapshot()
    assert snapshot.create_volume(pool_name='silver').pool_name == 'silver'
    with pytest.raises(exception.InvalidArgument):
        snapshot.create_volume(pool_name='bronze')


def test_snapshot_of_a_volume_in_error_is_refused(driver, backend):
    driver.fail_on['create_volume'] = RuntimeError()
    with pytest.raises(RuntimeError) as error:
        backend.create_volume(1)
    with pytest.raises(exception.InvalidVolume):
        error.value.resource.create_snapshot()


def test_bad_snapshot_arguments(volume):
    with pytest.raises(exception.InvalidArgument):
        volume.create_snapshot(colour='red')
    with pytest.raises(TypeError):
        volume.create_snapshot(name=3)
    assert volume.snapshots == []
