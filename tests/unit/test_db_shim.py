"""Cinder's objects and DB API calls served from the persistence plugin."""

import pytest

from cinder import context as cinder_context
from cinder import exception as cinder_exception
from cinder import objects
from cinder.db import api as cinder_db
from cinder.volume import volume_types

import cinderlib
from cinderlib.cinder import ovo as cinder_ovo


@pytest.fixture
def ctx():
    return cinder_context.get_admin_context()


def test_driver_db_is_the_plugin_shim(backend):
    assert backend.driver.db is cinderlib.Backend.persistence.db


def test_ovo_save_goes_to_persistence(volume):
    volume._ovo.provider_id = 'array-17'
    volume._ovo.save()
    assert cinderlib.Volume.get_by_id(volume.id).provider_id == 'array-17'


def test_ovo_refresh_and_get_by_id(ctx, volume):
    fetched = objects.Volume.get_by_id(ctx, volume.id)
    assert fetched is not volume._ovo
    assert fetched.size == volume.size
    assert fetched.volume_type.extra_specs == {}
    assert fetched.metadata == volume.metadata
    volume._ovo.refresh()
    assert volume._ovo.size == 1


def test_snapshot_ovo_lazy_loads_its_volume_and_saves(ctx, volume):
    snapshot = volume.create_snapshot()
    fetched = objects.Snapshot.get_by_id(ctx, snapshot.id)
    assert fetched.volume.id == volume.id
    fetched.provider_location = 'snap-loc'
    fetched.save()
    assert cinderlib.Snapshot.get_by_id(snapshot.id).provider_location == (
        'snap-loc')


def test_volume_lazy_loads_snapshots_through_cinder(ctx, volume):
    snapshot = volume.create_snapshot()
    fetched = objects.Volume.get_by_id(ctx, volume.id)
    assert not fetched.obj_attr_is_set('snapshots')  # Cinder lazy-loads
    assert [s.id for s in fetched.snapshots] == [snapshot.id]


def test_attachments_through_cinder_objects(ctx, volume, connector):
    connection = volume.connect(connector)
    attachments = objects.VolumeAttachmentList.get_all_by_volume_id(
        ctx, volume.id)
    assert [a.id for a in attachments] == [connection.id]
    assert attachments[0].connector == connector
    assert objects.VolumeAttachment.get_by_id(ctx, connection.id).id == (
        connection.id)


def test_volume_type_and_qos_helpers(backend):
    volume = backend.create_volume(1, extra_specs={'k': 'v'},
                                   qos_specs={'total_iops_sec': '500'})
    assert volume_types.get_volume_type_extra_specs(
        volume.volume_type_id) == {'k': 'v'}
    qos = volume_types.get_volume_type_qos_specs(volume.volume_type_id)
    assert qos['qos_specs']['specs'] == {'total_iops_sec': '500'}
    ctx = backend.context
    vtype = objects.VolumeType.get_by_id(ctx, volume.volume_type_id)
    assert vtype.extra_specs == {'k': 'v'}
    specs = objects.QualityOfServiceSpecs.get_by_id(ctx, volume.id)
    assert specs.specs == {'total_iops_sec': '500'}


def test_metadata_and_admin_metadata(ctx, volume):
    cinder_db.volume_metadata_update(ctx, volume.id, {'a': '1'}, False)
    cinder_db.volume_admin_metadata_update(ctx, volume.id, {'b': '2'},
                                           False)
    assert volume.metadata == {'a': '1'}
    assert cinder_db.volume_admin_metadata_get(ctx, volume.id) == {
        'memory': 'yes', 'b': '2'}
    cinder_db.volume_admin_metadata_delete(ctx, volume.id, 'b')
    cinder_db.volume_metadata_delete(ctx, volume.id, 'a')
    assert volume.metadata == {}
    assert volume.admin_metadata == {'memory': 'yes'}
    cinder_db.volume_metadata_update(ctx, volume.id, {'c': '3'}, True)
    assert volume.metadata == {'c': '3'}


def test_volume_update_and_get_all_by_host(backend, ctx, volume):
    other = cinderlib.Backend('other', volume_driver=(
        'tests.memory_driver.MemoryVolumeDriver'))
    other.create_volume(1)
    cinder_db.volume_update(ctx, volume.id, {'provider_auth': 'chap x y'})
    assert volume.provider_auth == 'chap x y'
    found = cinder_db.volume_get_all_by_host(ctx, backend.host_name)
    assert [v.id for v in found] == [volume.id]


def test_unknown_ids_raise_cinder_not_found(ctx, backend):
    missing = '0c0d8a1e-8d9b-4a5b-9b3c-111111111111'
    with pytest.raises(cinder_exception.VolumeNotFound):
        cinder_db.volume_get(ctx, missing)
    with pytest.raises(cinder_exception.SnapshotNotFound):
        cinder_db.snapshot_get(ctx, missing)
    with pytest.raises(cinder_exception.VolumeTypeNotFound):
        cinder_db.volume_type_get(ctx, missing)
    assert not objects.Volume.exists(ctx, missing)


def test_exceptions_are_cinders_own():
    from cinderlib import exception
    assert exception.VolumeNotFound is cinder_exception.VolumeNotFound
    assert exception.NotFound is cinder_exception.NotFound
    assert exception.InvalidVolume is cinder_exception.InvalidVolume
    assert issubclass(exception.ConnectionNotFound, exception.NotFound)
    with pytest.raises(AttributeError):
        exception.NoSuchError


def test_ovo_save_after_snapshots_and_connections(volume, connector):
    volume.create_snapshot()
    volume.connect(connector)
    assert not volume._ovo.obj_what_changed()
    volume._ovo.provider_auth = 'chap a b'
    volume._ovo.save()
    assert cinderlib.Volume.get_by_id(volume.id).provider_auth == 'chap a b'


def test_unset_volume_type_is_not_found_not_a_recursion(ctx, volume):
    """Looking a type up read the volume's type, which lazy-loaded it
    through the same lookup, endlessly."""
    cinder_ovo.forget_field(volume._ovo, 'volume_type')
    with pytest.raises(cinder_exception.VolumeTypeNotFound):
        cinder_db.volume_type_get(ctx, volume.id)
