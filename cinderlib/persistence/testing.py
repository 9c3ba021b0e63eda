"""A conformance test suite for persistence plugins (pytest).

Plugin authors subclass ``PersistenceConformance`` (or, for plugins whose
objects outlive the plugin instance and the process,
``DurablePersistenceConformance``) in their own tests and give it a
``persistence_config`` fixture::

    import pytest
    from cinderlib.persistence import testing

    class TestMyStore(testing.DurablePersistenceConformance):
        @pytest.fixture
        def persistence_config(self, tmp_path):
            return {'storage': 'mystore', 'path': str(tmp_path)}

The suite drives the plugin through the public library with a real driver
(the file driver shipped with cinderlib), so what it checks is what callers
and drivers see.  Each test uses a backend of its own and unique keys, so
one database may serve every test.
"""

from __future__ import annotations

import uuid
import pathlib
from typing import Any, Iterator

import pytest

import cinderlib
from cinderlib import exception
from cinderlib.persistence.base import MAX_VALUE_LENGTH
from cinderlib.persistence.base import PersistenceDriverBase

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
CONNECTOR = {'host': 'conformance-node', 'initiator': 'iqn.conformance'}


class PersistenceConformance:
    """What every persistence plugin must do; see the module docstring."""

    #: Whether a new plugin built from the same config sees stored objects.
    durable = False
    #: Whether ``get_key_values()`` without a key lists every key-value
    #: (cinderlib 5.x's base class gave ``key`` no default: plugins written
    #: for it may only look keys up).
    lists_key_values = True

    @pytest.fixture
    def plugin(self, persistence_config: dict[str, Any],
               tmp_path: pathlib.Path) -> Iterator[PersistenceDriverBase]:
        cinderlib.setup(state_path=str(tmp_path),
                        persistence_config=persistence_config)
        yield cinderlib.Backend.persistence
        for backend in list(cinderlib.Backend.backends.values()):
            backend.unload()

    @pytest.fixture
    def backend(self, plugin: PersistenceDriverBase,
                tmp_path: pathlib.Path) -> cinderlib.Backend:
        return cinderlib.Backend(
            f'conformance-{uuid.uuid4().hex[:8]}', volume_driver=FILE_DRIVER,
            file_volumes_dir=str(tmp_path / 'volumes'))

    # -- volumes --------------------------------------------------------------
    def test_created_volume_is_stored(self, plugin: PersistenceDriverBase,
                                      backend: cinderlib.Backend) -> None:
        volume = backend.create_volume(1, name='stored',
                                       metadata={'k': 'v'})
        found = plugin.get_volumes(volume_id=volume.id)
        assert [v.id for v in found] == [volume.id]
        assert found[0].status == 'available'
        assert found[0].metadata == {'k': 'v'}
        assert found[0].size == 1

    def test_filters_and_together(self, plugin: PersistenceDriverBase,
                                  backend: cinderlib.Backend) -> None:
        a = backend.create_volume(1, name='a')
        b = backend.create_volume(1, name='b')
        assert [v.id for v in plugin.get_volumes(volume_name='a')] == [a.id]
        assert plugin.get_volumes(volume_id=a.id, volume_name='b') == []
        assert plugin.get_volumes(volume_name='a',
                                  backend_name='other') == []
        assert sorted(v.id for v in plugin.get_volumes(
            backend_name=backend.id)) == sorted([a.id, b.id])

    def test_empty_filters_are_no_filters(
            self, plugin: PersistenceDriverBase,
            backend: cinderlib.Backend) -> None:
        # Callers pass '' for an unset field (protobuf's default).
        volume = backend.create_volume(1, name='named')
        other = backend.create_volume(1)
        snapshot = volume.create_snapshot(name='snap')
        connection = volume.connect(CONNECTOR)
        for empty in (None, ''):
            assert sorted(v.id for v in plugin.get_volumes(
                volume_id=empty, volume_name=empty,
                backend_name=backend.id)) == sorted([volume.id, other.id])
            assert [v.id for v in plugin.get_volumes(
                volume_id=empty, volume_name='named',
                backend_name=empty)] == [volume.id]
            assert [s.id for s in plugin.get_snapshots(
                snapshot_id=empty, snapshot_name=empty,
                volume_id=volume.id)] == [snapshot.id]
            assert [s.id for s in plugin.get_snapshots(
                snapshot_id=snapshot.id, snapshot_name=empty,
                volume_id=empty)] == [snapshot.id]
            assert [c.id for c in plugin.get_connections(
                connection_id=empty, volume_id=volume.id)] == [connection.id]
            assert [c.id for c in plugin.get_connections(
                connection_id=connection.id, volume_id=empty)] == [
                    connection.id]

    def test_unknown_ids_give_empty_lists(
            self, plugin: PersistenceDriverBase,
            backend: cinderlib.Backend) -> None:
        missing = str(uuid.uuid4())
        assert plugin.get_volumes(volume_id=missing) == []
        assert plugin.get_snapshots(snapshot_id=missing) == []
        assert plugin.get_connections(connection_id=missing) == []
        assert plugin.get_key_values(missing) == []

    def test_updates_are_stored(self, plugin: PersistenceDriverBase,
                                backend: cinderlib.Backend) -> None:
        volume = backend.create_volume(1)
        volume.extend(2)
        assert plugin.get_volumes(volume_id=volume.id)[0].size == 2

    def test_deleted_volume_is_gone(self, plugin: PersistenceDriverBase,
                                    backend: cinderlib.Backend) -> None:
        volume = backend.create_volume(1)
        volume.delete()
        assert plugin.get_volumes(volume_id=volume.id) == []
        assert backend.volumes == []

    def test_specs_reach_the_driver_through_the_db_shim(
            self, plugin: PersistenceDriverBase,
            backend: cinderlib.Backend) -> None:
        volume = backend.create_volume(1, extra_specs={'e': '1'},
                                       qos_specs={'q': '2'})
        db = plugin.db
        context = backend.context
        assert db.volume_type_extra_specs_get(
            context, volume.volume_type_id) == {'e': '1'}
        assert db.volume_type_qos_specs_get(
            context, volume.volume_type_id)['qos_specs']['specs'] == {
                'q': '2'}

    def test_driver_db_updates_are_kept(
            self, plugin: PersistenceDriverBase,
            backend: cinderlib.Backend) -> None:
        volume = backend.create_volume(1)
        db = plugin.db
        db.volume_admin_metadata_update(backend.context, volume.id,
                                        {'driver': 'data'}, False)
        db.volume_update(backend.context, volume.id,
                         {'provider_id': 'array-1'})
        volume.extend(2)  # the library saves the volume afterwards
        stored = plugin.get_volumes(volume_id=volume.id)[0]
        assert stored.admin_metadata == {'driver': 'data'}
        assert stored.provider_id == 'array-1'
        assert stored.size == 2

    # -- snapshots and connections --------------------------------------------
    def test_snapshots(self, plugin: PersistenceDriverBase,
                       backend: cinderlib.Backend) -> None:
        volume = backend.create_volume(1)
        snapshot = volume.create_snapshot(name='s')
        found = plugin.get_snapshots(volume_id=volume.id)
        assert [s.id for s in found] == [snapshot.id]
        assert plugin.get_snapshots(snapshot_name='s',
                                    volume_id=str(uuid.uuid4())) == []
        assert found[0].volume.id == volume.id
        restored = found[0].create_volume(size=2)
        assert restored.size == 2
        snapshot.delete()
        assert plugin.get_snapshots(snapshot_id=snapshot.id) == []

    def test_connections(self, plugin: PersistenceDriverBase,
                         backend: cinderlib.Backend) -> None:
        volume = backend.create_volume(1)
        connection = volume.connect(CONNECTOR)
        found = plugin.get_connections(volume_id=volume.id)
        assert [c.id for c in found] == [connection.id]
        assert found[0].connector_info == CONNECTOR
        assert found[0].conn_info == connection.conn_info
        assert plugin.get_volumes(volume_id=volume.id)[0].status == 'in-use'
        connection.disconnect()
        assert plugin.get_connections(connection_id=connection.id) == []
        assert plugin.get_volumes(
            volume_id=volume.id)[0].status == 'available'

    def test_saved_objects_have_no_changes_and_new_ones_have_all(
            self, plugin: PersistenceDriverBase,
            backend: cinderlib.Backend) -> None:
        # Plugins written for cinderlib 5.x create a record when 'id' is
        # among the changed fields, and update it otherwise.
        volume = cinderlib.Volume(backend, size=1)
        assert 'id' in plugin.get_changed_fields(volume)
        assert plugin.get_changed_fields(volume)['size'] == 1
        volume.create()
        assert plugin.get_changed_fields(volume) == {}
        volume._ovo.provider_id = 'changed'
        assert plugin.get_changed_fields(volume) == {
            'provider_id': 'changed'}
        volume.save()
        assert plugin.get_changed_fields(volume) == {}
        stored = plugin.get_volumes(volume_id=volume.id)[0]
        assert stored.provider_id == 'changed'
        assert plugin.get_changed_fields(stored) == {}

    def test_deleted_objects_are_marked_deleted(
            self, plugin: PersistenceDriverBase,
            backend: cinderlib.Backend) -> None:
        volume = backend.create_volume(1)
        snapshot = volume.create_snapshot()
        connection = volume.connect(CONNECTOR)
        connection.disconnect()
        snapshot.delete()
        volume.delete()
        for obj in (volume, snapshot, connection):
            assert obj.deleted
            assert obj.deleted_at is not None
            assert plugin.get_changed_fields(obj) == {}
        assert volume.status == snapshot.status == 'deleted'
        assert connection.attach_status == 'detached'

    # -- adopting and releasing -----------------------------------------------
    def test_adopted_objects_are_stored_and_released_ones_removed(
            self, plugin: PersistenceDriverBase, backend: cinderlib.Backend,
            persistence_config: dict[str, Any]) -> None:
        directory = pathlib.Path(backend.driver.directory)
        (directory / 'outside.img').write_bytes(b'adopted data')
        (directory / 'outside.snap').write_bytes(b'adopted snapshot')
        volume = backend.manage_existing({'source-name': 'outside.img'},
                                         name='adopted')
        snapshot = volume.manage_existing_snapshot(
            {'source-name': 'outside.snap'})
        if self.durable:
            cinderlib.Backend.set_persistence(dict(persistence_config))
            plugin = cinderlib.Backend.persistence
        found = plugin.get_volumes(volume_id=volume.id)
        assert [(v.name, v.status, v.size) for v in found] == [
            ('adopted', 'available', 1)]
        assert [(s.id, s.status) for s in plugin.get_snapshots(
            volume_id=volume.id)] == [(snapshot.id, 'available')]
        # The driver learns what is managed through the plugin.
        ids = {entry['reference']['source-name']: entry['cinder_id']
               for entry in backend.list_manageable_volumes()}
        assert ids == {volume.name_in_storage: volume.id,
                       snapshot.name_in_storage: snapshot.id}
        volume, = found
        volume.snapshots[0].unmanage()
        assert plugin.get_snapshots(snapshot_id=snapshot.id) == []
        volume.unmanage()
        assert plugin.get_volumes(volume_id=volume.id) == []
        assert (directory / volume.name_in_storage).read_bytes().startswith(
            b'adopted data')
        assert (directory / snapshot.name_in_storage).read_bytes() == (
            b'adopted snapshot')

    # -- key-values -----------------------------------------------------------
    def test_key_values(self, plugin: PersistenceDriverBase) -> None:
        # Unique keys: a database may be shared with other tests.
        one, two = (f'node-{uuid.uuid4()}' for _ in range(2))
        plugin.set_key_value(cinderlib.KeyValue(one, 'a'))
        plugin.set_key_value(cinderlib.KeyValue(one, 'b'))
        plugin.set_key_value(cinderlib.KeyValue(two, 'c'))
        assert plugin.get_key_values(one) == [cinderlib.KeyValue(one, 'b')]
        if self.lists_key_values:
            for everything in (plugin.get_key_values(),
                               plugin.get_key_values(None),
                               plugin.get_key_values('')):
                assert cinderlib.KeyValue(one, 'b') in everything
                assert cinderlib.KeyValue(two, 'c') in everything
        plugin.delete_key_value(cinderlib.KeyValue(one))
        assert plugin.get_key_values(one) == []
        assert plugin.get_key_values(two) == [cinderlib.KeyValue(two, 'c')]

    def test_key_value_text_is_kept_as_is(
            self, plugin: PersistenceDriverBase) -> None:
        key = f'node-{uuid.uuid4()}-\u00e9\u4e2d'
        value = '{"host": "n\u00f6de", "multipath": false}\n\t' + (
            'x' * 70000)
        plugin.set_key_value(cinderlib.KeyValue(key, value))
        assert plugin.get_key_values(key) == [cinderlib.KeyValue(key, value)]
        longest = 'k' * 250 + uuid.uuid4().hex[:5]
        plugin.set_key_value(cinderlib.KeyValue(longest, ''))
        assert plugin.get_key_values(longest) == [
            cinderlib.KeyValue(longest, '')]

    def test_set_key_value_takes_a_key_value(
            self, plugin: PersistenceDriverBase) -> None:
        with pytest.raises(exception.InvalidArgumentType) as error:
            plugin.set_key_value('node-1')  # type: ignore[arg-type]
        assert error.value.field == 'key_value'

    @pytest.mark.parametrize('key, value', [
        (None, 'v'), ('', 'v'), (42, 'v'), (b'node', 'v'),
        ('k' * 256, 'v'), ('no\x00de', 'v'), ('\ud800', 'v'),
        ('KEY', b'bytes'), ('KEY', None), ('KEY', 42), ('KEY', {'a': 1}),
        ('KEY', 'nul\x00'), ('KEY', 'surrogate\udc00'),
        ('KEY', 'x' * (MAX_VALUE_LENGTH + 1))])
    def test_invalid_key_values_are_refused(
            self, plugin: PersistenceDriverBase, key: Any,
            value: Any) -> None:
        if key == 'KEY':
            key = f'node-{uuid.uuid4()}'
        with pytest.raises((exception.InvalidArgument,
                            exception.InvalidArgumentType)) as error:
            plugin.set_key_value(cinderlib.KeyValue(key, value))
        assert '\n' not in str(error.value)
        assert getattr(error.value, 'field', None) in ('key', 'value')
        if isinstance(key, str) and key:
            assert plugin.get_key_values(key) == []
        if self.lists_key_values:
            plugin.get_key_values()  # nothing unreadable was stored

    # -- durability -----------------------------------------------------------
    def test_new_plugin_sees_what_durable_plugins_keep(
            self, plugin: PersistenceDriverBase, backend: cinderlib.Backend,
            persistence_config: dict[str, Any]) -> None:
        volume = backend.create_volume(1)
        cinderlib.Backend.set_persistence(dict(persistence_config))
        fresh = cinderlib.Backend.persistence
        found = fresh.get_volumes(volume_id=volume.id)
        assert [v.id for v in found] == ([volume.id] if self.durable
                                         else [])


class DurablePersistenceConformance(PersistenceConformance):
    """The suite for plugins that keep objects across instances and
    processes (databases, files)."""

    durable = True

    def test_objects_survive_a_new_plugin(
            self, plugin: PersistenceDriverBase, backend: cinderlib.Backend,
            persistence_config: dict[str, Any]) -> None:
        volume = backend.create_volume(1, extra_specs={'e': '1'},
                                       metadata={'m': '1'})
        snapshot = volume.create_snapshot()
        connection = volume.connect(CONNECTOR)
        cinderlib.Backend.set_persistence(dict(persistence_config))
        fresh = cinderlib.Backend.persistence
        assert fresh is not plugin
        loaded = fresh.get_volumes(volume_id=volume.id)[0]
        assert loaded is not volume
        assert loaded.backend is backend
        assert loaded.metadata == {'m': '1'}
        assert loaded.volume_type.extra_specs == {'e': '1'}
        assert loaded.created_at == volume.created_at
        assert [s.id for s in loaded.snapshots] == [snapshot.id]
        assert [c.id for c in loaded.connections] == [connection.id]
        loaded.connections[0].disconnect()
        loaded.snapshots[0].delete()
        loaded.delete()
        assert fresh.get_volumes(backend_name=backend.id) == []
