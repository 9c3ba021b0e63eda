"""Persistence plugins written for cinderlib 5.x run unmodified.

``crd_like_plugin`` has the shape of Ember-CSI 0.9.1's Kubernetes CRD
plugin; the conformance suite runs on it (given by class and by entry
point name), and the tests below check each point of the 5.x contract
it relies on, and the way Ember uses ``Backend.persistence`` directly,
on every built-in plugin too.
"""

import json
import logging
import uuid

import pytest
from oslo_versionedobjects import base as ovo_base

import cinderlib
from cinderlib.cinder import db_shim
from cinderlib import exception
from cinderlib.objects import base as objects_base
from cinderlib.persistence import base
from cinderlib.persistence import testing
from tests.compat import crd_like_plugin as crd

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
CONNECTOR = {'host': 'node-1', 'initiator': 'iqn.2004-10.com.ubuntu:01:1',
             'multipath': False}
ENTRY_POINT = f'crd = {crd.__name__}:CRDLikePersistence'


def crd_config():
    return {'storage': crd.CRDLikePersistence,
            'namespace': f'ns-{uuid.uuid4().hex[:8]}'}


@pytest.fixture
def crd_entry_point(tmp_path, monkeypatch):
    """Install the plugin as Ember installs its own: an entry point named
    ``crd`` (a distribution's metadata on sys.path, for this test)."""
    site = tmp_path / 'site'
    info = site / 'crd_like_plugin-1.0.dist-info'
    info.mkdir(parents=True)
    (info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: crd-like-plugin\nVersion: 1.0\n')
    (info / 'entry_points.txt').write_text(
        f'[cinderlib.persistence.storage]\n{ENTRY_POINT}\n')
    monkeypatch.syspath_prepend(str(site))
    # stevedore caches entry points: per process and namespace, and per
    # sys.path in the user's cache directory.
    from stevedore import _cache, extension
    monkeypatch.setattr(extension.ExtensionManager, 'ENTRY_POINT_CACHE', {})
    monkeypatch.setattr(_cache._c, '_dir', str(tmp_path / 'ep-cache'))


class TestCRDLikePlugin(testing.DurablePersistenceConformance):
    lists_key_values = False  # its get_key_values needs a key

    @pytest.fixture
    def persistence_config(self):
        return crd_config()


class TestCRDLikePluginByName(testing.DurablePersistenceConformance):
    lists_key_values = False

    @pytest.fixture
    def persistence_config(self, crd_entry_point):
        return {'storage': 'crd', 'namespace': crd_config()['namespace']}

    def test_it_is_the_plugin_installed(self, plugin):
        assert type(plugin) is crd.CRDLikePersistence


@pytest.fixture
def plugin(tmp_path):
    cinderlib.setup(state_path=str(tmp_path), persistence_config=crd_config())
    return cinderlib.Backend.persistence


@pytest.fixture
def backend(plugin, tmp_path):
    return cinderlib.Backend('crd-backend', volume_driver=FILE_DRIVER,
                             file_volumes_dir=str(tmp_path / 'volumes'))


# -- the DB shim --------------------------------------------------------------
def test_base_db_is_the_shim_drivers_see(plugin, backend):
    assert base.DB is db_shim.CinderDbShim
    assert isinstance(plugin.fake_db, base.DB)
    assert plugin.db is plugin.fake_db
    assert plugin.db.persistence is plugin
    assert backend.driver.db is plugin.db
    cinderlib.Backend.set_persistence(crd_config())
    assert backend.driver.db is cinderlib.Backend.persistence.fake_db


def test_shim_built_before_the_base_init_serves_the_plugin(backend):
    volume = backend.create_volume(1)
    fresh = crd.CRDLikePersistence()  # the same namespace
    assert fresh.db.volume_get(backend.context, volume.id).id == volume.id


def test_plugin_without_base_init_or_db_property(tmp_path):
    # cinderlib 5.x's documentation showed a plugin that does not call the
    # base __init__; this one does not define db either.
    class Minimal(crd.CRDLikePersistence):
        def __init__(self, namespace):
            crd.CRD.NAMESPACE = namespace

        db = base.PersistenceDriverBase.db

    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': Minimal, 'namespace': crd_config()['namespace']})
    backend = cinderlib.Backend('minimal', volume_driver=FILE_DRIVER,
                                file_volumes_dir=str(tmp_path / 'v'))
    volume = backend.create_volume(1)
    backend.driver.db.volume_update(backend.context, volume.id,
                                    {'provider_id': 'from-driver'})
    volume.extend(2)
    volume.create_snapshot().delete()
    stored = cinderlib.Backend.persistence.get_volumes(volume_id=volume.id)
    assert (stored[0].size, stored[0].provider_id) == (2, 'from-driver')


def test_drivers_change_the_copy_the_library_saves(plugin, backend):
    backend.create_volume(1, name='shared')
    # Ember reads each volume afresh: the plugin returns new copies.
    volume = plugin.get_volumes(volume_name='shared')[0]
    connection = volume.connect(CONNECTOR)
    plugin.db.volume_admin_metadata_update(
        backend.context, volume.id, {'lun': '7'}, False)
    plugin.db.volume_attachment_update(
        backend.context, connection.id, {'mountpoint': '/mnt'})
    volume.extend(2)
    stored = plugin.get_volumes(volume_id=volume.id)[0]
    assert (stored.size, stored.admin_metadata) == (2, {'lun': '7'})
    assert stored.status == 'in-use'
    assert plugin.get_connections(
        connection_id=connection.id)[0].mountpoint == '/mnt'


# -- create or replace, by get_changed_fields ---------------------------------
def test_new_objects_are_created_and_stored_ones_replaced(
        plugin, backend, monkeypatch):
    applied = []
    apply = crd.CRD._apply.__func__

    def record(cls, name, body, is_new):
        applied.append((cls.plural, bool(is_new),
                        body['metadata'].get('resourceVersion') is not None))
        return apply(cls, name, body, is_new)

    monkeypatch.setattr(crd.CRD, '_apply', classmethod(record))
    volume = backend.create_volume(1)
    snapshot = volume.create_snapshot()
    volume.connect(CONNECTOR)
    # Each first write is a creation ('id' among the changed fields),
    # every later one a replacement with the version the plugin keeps on
    # the object: no lookup of the current version first.
    assert applied == [
        ('volumes', True, False), ('volumes', False, True),
        ('snapshots', True, False), ('snapshots', False, True),
        ('connections', True, False), ('connections', False, True),
        ('volumes', False, True)]
    assert getattr(snapshot, '__resource_version')
    record_made = cinderlib.Connection(volume.backend, volume=volume,
                                       connector=CONNECTOR)
    record_made.save()  # 5.x's way of making a record (Ember does)
    assert applied[-1] == ('connections', True, False)


def test_changed_fields_are_those_of_5x(plugin, backend):
    volume = cinderlib.Volume(backend, size=1, extra_specs={'e': '1'},
                              qos_specs={'q': '2'})
    changed = plugin.get_changed_fields(volume)
    assert changed == plugin.get_fields(volume)
    assert changed['id'] == volume.id
    assert changed['extra_specs'] == {'e': '1'}
    assert changed['qos_specs'] == {'q': '2'}
    assert not any(isinstance(value, ovo_base.VersionedObject)
                   for value in changed.values())
    volume.create()
    volume._ovo.provider_location = 'here'
    assert plugin.get_changed_fields(volume) == {
        'provider_location': 'here'}
    plugin.reset_change_tracker(volume, 'provider_location')
    assert plugin.get_changed_fields(volume) == {}


def test_vol_type_to_dict(backend):
    volume = backend.create_volume(1, extra_specs={'e': '1'},
                                   qos_specs={'q': '2'})
    as_dict = base.vol_type_to_dict(volume.volume_type)
    assert as_dict['id'] == volume.volume_type_id
    assert as_dict['extra_specs'] == {'e': '1'}
    assert as_dict['qos_specs']['specs'] == {'q': '2'}


# -- attributes the plugin keeps on objects -----------------------------------
def test_plugin_attributes_follow_refresh(plugin, backend):
    volume = backend.create_volume(1)
    other = plugin.get_volumes(volume_id=volume.id)[0]
    other.extend(2)  # stored from another copy: a newer version
    volume.refresh()
    assert volume.size == 2
    volume._ovo.provider_id = 'saved'
    volume.save()  # the version taken on refresh: no conflict
    snapshot = volume.create_snapshot()
    plugin.get_snapshots(snapshot_id=snapshot.id)[0].save()
    snapshot.refresh()
    snapshot.delete()
    connection = volume.connect(CONNECTOR)
    plugin.get_connections(connection_id=connection.id)[0].save()
    connection.refresh()
    connection.disconnect()
    assert plugin.get_volumes(volume_id=volume.id)[0].provider_id == 'saved'


def test_library_attributes_are_known(tmp_path):
    # Every attribute the library keeps on its objects is listed, so that
    # refresh() takes only the plugin's from a newer copy.
    backend = cinderlib.Backend('known', volume_driver=FILE_DRIVER,
                                file_volumes_dir=str(tmp_path / 'v'))
    volume = backend.create_volume(1)
    snapshot = volume.create_snapshot()
    connection = volume.connect(CONNECTOR)
    loaded = cinderlib.load(volume.dumps)
    for obj in (volume, snapshot, connection, loaded,
                loaded.snapshots[0], loaded.connections[0]):
        assert set(vars(obj)) <= objects_base.LIBRARY_ATTRIBUTES


def test_key_values_carry_plugin_attributes(plugin):
    kv = cinderlib.KeyValue('node-a', '{}')
    plugin.set_key_value(kv)
    first = getattr(kv, '__resource_version')
    kv.value = '{"v": 2}'
    plugin.set_key_value(kv)
    assert getattr(kv, '__resource_version') != first
    assert plugin.get_key_values('node-a') == [kv]


# -- objects of backends not loaded here (Ember's node service) ---------------
def test_objects_of_a_backend_not_loaded(plugin, backend, tmp_path):
    volume = backend.create_volume(1, name='on-node')
    connection = volume.connect(CONNECTOR)
    backend.unload()
    config = {**crd_config(), 'namespace': crd.CRD.NAMESPACE}
    cinderlib.setup(state_path=str(tmp_path), persistence_config=config,
                    fail_on_missing_backend=False)
    node = cinderlib.Backend.persistence
    found = node.get_volumes(volume_id=volume.id)[0]
    assert found.backend.id == 'crd-backend'
    assert node.get_volumes(backend_name='crd-backend') == [found]
    conn = found.connections[0]
    assert conn.id == connection.id
    conn._ovo.mountpoint = '/staged'
    conn.save()
    found._ovo.admin_metadata = {'fs_type': 'ext4'}
    found.save()
    again = node.get_volumes(volume_name='on-node')[0]
    assert again.admin_metadata == {'fs_type': 'ext4'}
    assert again.connections[0].mountpoint == '/staged'


# -- load(save=True) goes through set_objects ---------------------------------
def test_load_and_save(plugin, backend):
    volume = backend.create_volume(1)
    volume.create_snapshot()
    text = volume.dumps
    volume._ovo.provider_id = 'newer'
    volume.save()
    loaded = cinderlib.load(text, save=True)
    stored = plugin.get_volumes(volume_id=volume.id)[0]
    assert stored.provider_id is None
    assert [s.id for s in stored.snapshots] == [loaded.snapshots[0].id]
    stored.extend(2)  # the record is usable afterwards


def test_failed_load_and_save_restores_the_records(plugin, backend,
                                                   monkeypatch):
    volume = backend.create_volume(1)
    snapshot = volume.create_snapshot()
    data = json.loads(volume.dumps)
    data['ovo']['versioned_object.data']['provider_id'] = 'from-load'

    def refuse(cls, resource, is_new=None):
        raise crd.ApiException(500, 'the API server is gone')

    monkeypatch.setattr(crd.Snapshot, 'set', classmethod(refuse))
    with pytest.raises(crd.ApiException):
        cinderlib.load(data, save=True)
    monkeypatch.undo()
    stored = plugin.get_volumes(volume_id=volume.id)[0]
    assert stored.provider_id is None
    assert plugin.get_snapshots(snapshot_id=snapshot.id)
    stored.extend(2)  # restored with the current version: usable


# -- configuration ------------------------------------------------------------
@pytest.mark.parametrize('storage', [None, ''])
def test_no_storage_means_memory(storage):
    cinderlib.setup(persistence_config={'storage': storage})
    assert type(cinderlib.Backend.persistence).__name__ == 'MemoryPersistence'


def test_base_init_ignores_options_as_5x_did(caplog):
    class PassesItsOptions(crd.CRDLikePersistence):
        def __init__(self, namespace=None, **kwargs):
            self.fake_db = base.DB(self)
            base.PersistenceDriverBase.__init__(self, **kwargs)

    with caplog.at_level(logging.WARNING, 'cinderlib.persistence.base'):
        cinderlib.setup(persistence_config={
            'storage': PassesItsOptions, 'password': 'hunter2',
            'kubeconfig': '/etc/k8s'})
    assert 'kubeconfig, password' in caplog.text
    assert 'hunter2' not in caplog.text


# -- Backend.persistence used directly, as Ember does -------------------------
@pytest.fixture(params=['memory', 'memory_db', 'sqlite', 'postgresql',
                        'mysql', 'crd'])
def any_plugin(request, tmp_path):
    kind = request.param
    if kind == 'crd':
        config = crd_config()
    elif kind in ('memory', 'memory_db'):
        config = {'storage': kind}
    else:
        url = request.getfixturevalue('empty_database')(kind)
        config = {'storage': 'db', 'connection': url}
    cinderlib.setup(state_path=str(tmp_path), persistence_config=config)
    return cinderlib.Backend.persistence


def test_ember_uses_persistence_directly(any_plugin, tmp_path):
    backend = cinderlib.Backend('ember', volume_driver=FILE_DRIVER,
                                file_volumes_dir=str(tmp_path / 'volumes'))
    persistence = cinderlib.Backend.persistence
    assert persistence is any_plugin
    volume = backend.create_volume(1, name='pvc-1')
    snapshot = volume.create_snapshot(name='snap-1')
    # Its node service publishes the host's connector.
    connector = dict(CONNECTOR, host='node-7')
    node_info = json.dumps(connector, separators=(',', ':'))
    persistence.set_key_value(cinderlib.KeyValue('node-7', node_info))
    found = persistence.get_key_values('node-7')
    assert json.loads(found[0].value) == connector
    # Its probe updates one key-value again and again (an upsert).
    probe = cinderlib.KeyValue('ember.probe.node-7', '0')
    for _ in range(3):
        probe.value = str(int(probe.value) + 1)
        persistence.set_key_value(probe)
    assert [kv.value for kv in persistence.get_key_values(probe.key)] == [
        '3']
    # Lookups with protobuf's '' for the fields not given.
    assert [v.id for v in persistence.get_volumes(
        volume_id=volume.id, backend_name=backend.id)] == [volume.id]
    assert [v.id for v in persistence.get_volumes(
        volume_id='', backend_name=backend.id, volume_name='pvc-1')] == [
            volume.id]
    assert [s.id for s in persistence.get_snapshots(
        snapshot_id='', volume_id=volume.id)] == [snapshot.id]
    assert [s.id for s in persistence.get_snapshots(
        snapshot_id=snapshot.id, snapshot_name='')] == [snapshot.id]
    # Unpublishing removes a duplicate connection's record directly.
    node_connector = json.loads(persistence.get_key_values('node-7')[0].value)
    volume = persistence.get_volumes(volume_id=volume.id)[0]
    staged = volume.connect(node_connector, attached_host='node-7')
    published = volume.connect(node_connector, attached_host='node-7')
    volume = persistence.get_volumes(volume_id=volume.id)[0]
    ours = [c for c in volume.connections if c.attached_host == 'node-7']
    assert sorted(c.id for c in ours) == sorted([staged.id, published.id])
    duplicate = next(c for c in ours if c.id == published.id)
    persistence.delete_connection(duplicate)
    volume._connections.remove(duplicate)
    volume._ovo.volume_attachment.objects.remove(duplicate._ovo)
    assert duplicate.deleted
    assert [c.id for c in persistence.get_connections(
        volume_id=volume.id)] == [staged.id]
    next(c for c in ours if c.id == staged.id).disconnect()
    assert persistence.get_volumes(
        volume_id=volume.id)[0].status == 'available'
    persistence.delete_key_value(probe)
    assert persistence.get_key_values(probe.key) == []
    snapshot.delete()
    persistence.get_volumes(volume_id=volume.id)[0].delete()
    assert persistence.get_volumes(backend_name=backend.id) == []


def test_invalid_key_value_is_one_line_error(any_plugin):
    with pytest.raises(exception.InvalidArgumentType) as error:
        any_plugin.set_key_value(cinderlib.KeyValue('node', b'\x00bytes'))
    assert str(error.value) == (
        "Invalid value: of key 'node' must be a string (e.g. JSON text), "
        "got bytes")


@pytest.mark.parametrize('storage', ['memory', 'memory_db', 'crd'])
def test_driver_updates_reach_a_loaded_copy(storage, tmp_path, monkeypatch):
    config = crd_config() if storage == 'crd' else {'storage': storage}
    cinderlib.setup(state_path=str(tmp_path), persistence_config=config)
    backend = cinderlib.Backend('copies', volume_driver=FILE_DRIVER,
                                file_volumes_dir=str(tmp_path / 'volumes'))
    stored = backend.create_volume(1)
    copy = cinderlib.load(stored.jsons)  # e.g. kept by the caller
    assert copy is not stored
    driver = backend.driver
    initialize = driver.initialize_connection

    def initialize_and_record(volume, connector):
        # Before the library saves the volume again in this operation.
        driver.db.volume_update(backend.context, volume.id,
                                {'provider_id': 'exported'})
        return initialize(volume, connector)

    monkeypatch.setattr(driver, 'initialize_connection',
                        initialize_and_record)
    copy.connect(CONNECTOR)
    found = cinderlib.Backend.persistence.get_volumes(volume_id=stored.id)
    assert (found[0].status, found[0].provider_id) == ('in-use', 'exported')
