"""Volumes: operations, statuses, validation and failures."""

import os
import threading
import uuid

import pytest

import cinderlib
from cinderlib import exception
from tests import memory_driver


def stored(volume):
    found = cinderlib.Backend.persistence.get_volumes(volume_id=volume.id)
    return found[0] if found else None


def test_create_volume_is_available_and_stored(backend, driver):
    volume = backend.create_volume(2, name='data', description='d',
                                   metadata={'k': 'v'})
    assert volume.status == 'available'
    assert volume.size == 2
    assert volume.name == 'data'
    assert volume.description == 'd'
    assert volume.metadata == {'k': 'v'}
    assert volume.provider_location == f'memory://{volume.name_in_storage}'
    assert volume.name_in_storage == f'volume-{volume.id}'
    assert driver.volumes[volume.name_in_storage] == 2
    assert stored(volume) is volume
    assert volume.host == f'{backend.host_name}#memory'


def test_create_volume_reaches_driver_through_db_shim(backend, driver):
    volume = backend.create_volume(1, extra_specs={'thin': 'true'},
                                   qos_specs={'maxIOPS': '100'})
    seen = driver.seen_specs[volume.id]
    assert seen['extra_specs'] == {'thin': 'true'}
    assert seen['type_extra_specs'] == {'thin': 'true'}
    assert seen['qos_specs']['specs'] == {'maxIOPS': '100'}
    assert seen['qos_specs']['consumer'] == 'back-end'
    assert volume.admin_metadata == {'memory': 'yes'}
    assert volume.volume_type.extra_specs == {'thin': 'true'}


def test_volume_without_specs_has_a_usable_volume_type(volume):
    assert volume.volume_type.extra_specs == {}
    assert volume.volume_type_id == volume.volume_type.id


@pytest.mark.parametrize('size', [0, -1, '1', 0.0, -0.5, float('nan'),
                                  float('inf'), 2 ** 64, True, None])
def test_bad_sizes_are_rejected_naming_the_field(backend, size):
    with pytest.raises((ValueError, TypeError)) as error:
        backend.create_volume(size)
    assert error.value.field == 'size'
    assert backend.volumes == []


def test_ids_must_be_uuids_by_default(backend):
    with pytest.raises(exception.InvalidArgument) as error:
        backend.create_volume(1, id='my-volume')
    assert 'UUID' in str(error.value)
    assert backend.volumes == []


def test_non_uuid_ids_when_enabled(tmp_path):
    cinderlib.setup(non_uuid_ids=True, state_path=str(tmp_path))
    backend = cinderlib.Backend('memory', volume_driver=(
        'tests.memory_driver.MemoryVolumeDriver'))
    volume = backend.create_volume(1, id='my-volume')
    assert volume.id == 'my-volume'
    with pytest.raises(exception.InvalidArgument):
        backend.create_volume(1, id='../etc')


def test_given_uuid_is_used(backend):
    volume_id = str(uuid.uuid4())
    assert backend.create_volume(1, id=volume_id).id == volume_id


def test_unknown_attributes_and_bad_names_are_rejected(backend):
    with pytest.raises(exception.InvalidArgument) as error:
        backend.create_volume(1, colour='red')
    assert error.value.field == 'colour'
    with pytest.raises(TypeError):
        backend.create_volume(1, name=42)
    with pytest.raises(ValueError):
        backend.create_volume(1, name='x' * 256)
    with pytest.raises(exception.InvalidArgument) as error:
        backend.create_volume(1, name='\ud800')  # databases refuse it
    assert 'surrogate' in str(error.value)
    with pytest.raises(TypeError):
        backend.create_volume(1, extra_specs=['a'])
    with pytest.raises(exception.InvalidArgument) as error:
        backend.create_volume(1, volume_type_id=str(uuid.uuid4()))
    assert 'extra_specs' in str(error.value)
    with pytest.raises(exception.InvalidArgument) as error:
        backend.create_volume(1, snapshots=[])
    assert error.value.field == 'snapshots'
    assert backend.volumes == []


def test_unknown_pool_is_rejected(backend):
    with pytest.raises(exception.InvalidArgument) as error:
        backend.create_volume(1, pool_name='nope')
    assert error.value.field == 'pool_name'
    assert 'memory' in str(error.value)
    assert backend.volumes == []


def test_driver_failure_sets_error_saves_and_reraises(backend, driver):
    failure = memory_driver.MemoryDriverError(reason='boom')
    driver.fail_on['create_volume'] = failure
    with pytest.raises(memory_driver.MemoryDriverError) as error:
        backend.create_volume(1)
    volume = error.value.resource
    assert error.value is failure
    assert volume.status == 'error'
    assert stored(volume).status == 'error'


def test_delete_removes_volume_and_twice_is_harmless(backend, driver, volume):
    volume.delete()
    assert volume.status == 'deleted'
    assert volume.deleted
    assert stored(volume) is None
    assert volume.name_in_storage not in driver.volumes
    volume.delete()
    assert [c for c in driver.calls if c[0] == 'delete_volume'] == [
        ('delete_volume', volume.id)]


def test_delete_failure_sets_error_deleting(backend, driver, volume):
    driver.fail_on['delete_volume'] = RuntimeError('array offline')
    with pytest.raises(RuntimeError) as error:
        volume.delete()
    assert error.value.resource is volume
    assert stored(volume).status == 'error_deleting'
    del driver.fail_on['delete_volume']
    volume.delete()
    assert stored(volume) is None


def test_delete_refused_while_snapshots_exist(volume):
    snapshot = volume.create_snapshot()
    with pytest.raises(exception.InvalidVolume):
        volume.delete()
    assert volume.status == 'available'
    snapshot.delete()
    volume.delete()


def test_delete_refused_while_connected(volume, connector):
    connection = volume.connect(connector)
    with pytest.raises(exception.InvalidVolume):
        volume.delete()
    connection.disconnect()
    volume.delete()


def test_extend_grows_and_returns_bytes(driver, volume):
    assert volume.extend(3) == 3 * 1024 ** 3
    assert volume.size == 3
    assert volume.status == 'available'
    assert driver.volumes[volume.name_in_storage] == 3
    assert stored(volume).size == 3


@pytest.mark.parametrize('size', [1, 0, '5'])
def test_extend_must_grow(driver, volume, size):
    with pytest.raises((ValueError, TypeError)) as error:
        volume.extend(size)
    assert error.value.field == 'size'
    assert volume.size == 1
    assert not [c for c in driver.calls if c[0] == 'extend_volume']


def test_extend_failure_keeps_size_and_sets_error(driver, volume):
    driver.fail_on['extend_volume'] = RuntimeError('no space')
    with pytest.raises(RuntimeError):
        volume.extend(2)
    assert volume.size == 1
    assert stored(volume).status == 'error'


def test_clone_copies_size_specs_and_can_be_larger(backend, driver):
    source = backend.create_volume(1, extra_specs={'a': 'b'})
    clone = source.clone(name='copy', size=2)
    assert clone.id != source.id
    assert clone.status == 'available'
    assert clone.size == 2
    assert clone.source_volid == source.id
    assert clone.name == 'copy'
    assert clone.volume_type.extra_specs == {'a': 'b'}
    assert clone.created_at > source.created_at
    assert driver.volumes[clone.name_in_storage] == 2
    assert source.clone().size == 1


def test_clone_smaller_than_source_is_rejected(backend):
    source = backend.create_volume(2)
    with pytest.raises(exception.InvalidArgument):
        source.clone(size=1)
    assert len(backend.volumes) == 1


def test_clone_failure_marks_only_the_clone(driver, volume):
    driver.fail_on['create_cloned_volume'] = RuntimeError('nope')
    with pytest.raises(RuntimeError) as error:
        volume.clone()
    assert error.value.resource.status == 'error'
    assert volume.status == 'available'


def test_get_by_id_and_name(backend):
    volume = backend.create_volume(1, name='findme')
    assert cinderlib.Volume.get_by_id(volume.id) is volume
    assert cinderlib.Volume.get_by_name('findme') == [volume]
    assert cinderlib.Volume.get_by_name('other') == []
    with pytest.raises(exception.VolumeNotFound):
        cinderlib.Volume.get_by_id(str(uuid.uuid4()))


def test_unknown_attributes_fall_through_to_cinder_object(volume):
    assert volume._ovo.id == volume.id
    assert volume.attach_status == 'detached'
    assert volume.bootable is False
    with pytest.raises(AttributeError):
        volume.no_such_attribute


def test_caller_may_change_cinder_fields_and_save(volume):
    volume._ovo.display_name = 'renamed'
    volume.save()
    assert stored(volume).name == 'renamed'
    assert not volume._ovo.obj_what_changed()


def test_new_ids_of_a_forked_child_and_of_threads_are_their_own():
    # Random bytes are read for several ids at once: a forked child and
    # each thread must not make ids from bytes another one uses.
    from cinderlib.objects import base
    base.new_uuid4()  # the parent has unused values now
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, then exit at once
        os.close(reader)
        os.write(writer, ' '.join(base.new_uuid4()
                                  for _ in range(100)).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        child_ids = pipe.read().split()
    os.waitpid(pid, 0)
    thread_ids: list[str] = []
    threads = [threading.Thread(target=lambda: thread_ids.extend(
        base.new_uuid4() for _ in range(100))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    parent_ids = [base.new_uuid4() for _ in range(100)]
    assert len(child_ids) == 100
    every = child_ids + thread_ids + parent_ids
    assert len(set(every)) == len(every) == 600


def test_refresh_of_a_deleted_volume_raises(volume):
    volume.delete()
    with pytest.raises(exception.VolumeNotFound):
        volume.refresh()


def test_new_ids_are_random_version_4_uuids(backend):
    # Made without uuid.UUID (base.new_uuid4): the same text, version and
    # variant bits as str(uuid.uuid4()), every other bit random.
    ids = [backend.create_volume(1).id for _ in range(3)] + [
        cinderlib.Volume.new_uuid() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (
            text, 4, uuid.RFC_4122)
    values = [uuid.UUID(text).int for text in ids]
    fixed = (0xf000 << 64) | (0xc000 << 48)
    assert all(any(value >> bit & 1 for value in values) and
               not all(value >> bit & 1 for value in values)
               for bit in range(128) if not fixed >> bit & 1)


def test_id_is_the_cinder_objects(backend):
    # Read from the Cinder object's attribute (not through its getter):
    # it follows the object, a replaced one too, and an object loaded
    # from stored state gives its id before its Cinder object is built.
    volume = backend.create_volume(1)
    other = backend.create_volume(1)
    assert volume.id == volume._ovo.id
    new_id = cinderlib.Volume.new_uuid()
    volume._ovo.id = new_id
    assert volume.id == new_id
    volume._ovo = other._ovo
    assert volume.id == other.id
    loaded = cinderlib.load(other.jsons)
    assert '_ovo' not in loaded.__dict__
    assert loaded.id == other.id
    assert '_ovo' not in loaded.__dict__  # not built to give it
