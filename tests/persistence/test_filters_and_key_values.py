"""Filters and key-values of the built-in plugins, beyond the conformance
suite: every empty value is no filter (as in cinderlib 5.x), filters that
no record can match give [] on every database, matches are exact, and
key-values stored by hand or by older versions do not break listings."""

import logging
import uuid

import pytest
import sqlalchemy

import cinderlib
from cinderlib import exception
from cinderlib.persistence import schema

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
CONNECTOR = {'host': 'node-1', 'initiator': 'iqn.2004-10.com.ubuntu:01:1'}


@pytest.fixture(params=['memory', 'memory_db', 'sqlite', 'postgresql',
                        'mysql'])
def plugin(request, tmp_path, empty_database):
    kind = request.param
    if kind in ('memory', 'memory_db'):
        config = {'storage': kind}
    else:
        config = {'storage': 'db', 'connection': empty_database(kind)}
    cinderlib.setup(state_path=str(tmp_path), persistence_config=config)
    return cinderlib.Backend.persistence


@pytest.fixture
def backend(plugin, tmp_path):
    return cinderlib.Backend('filters', volume_driver=FILE_DRIVER,
                             file_volumes_dir=str(tmp_path / 'volumes'))


def dialect(plugin):
    engine = getattr(plugin, 'engine', None)
    return engine.dialect.name if engine is not None else None


@pytest.mark.parametrize('empty', [None, '', [], {}, 0])
def test_every_empty_filter_is_no_filter(plugin, backend, empty):
    volume = backend.create_volume(1, name='a')
    other = backend.create_volume(1, name='b')
    snapshot = volume.create_snapshot(name='s')
    connection = volume.connect(CONNECTOR)
    kv = cinderlib.KeyValue('node-1', '{}')
    plugin.set_key_value(kv)
    ids = sorted([volume.id, other.id])
    assert sorted(v.id for v in plugin.get_volumes(
        volume_id=empty, volume_name=empty, backend_name=empty)) == ids
    assert [s.id for s in plugin.get_snapshots(
        snapshot_id=empty, snapshot_name=empty, volume_id=empty)] == [
            snapshot.id]
    assert [c.id for c in plugin.get_connections(
        connection_id=empty, volume_id=empty)] == [connection.id]
    assert plugin.get_key_values(empty) == [kv]


@pytest.mark.parametrize('value', [
    42, ['x'], ('x',), 'nul\x00', 'surrogate\ud800', 'missing'])
def test_filters_no_record_can_match_give_nothing(plugin, backend, value):
    volume = backend.create_volume(1)
    volume.create_snapshot()
    volume.connect(CONNECTOR)
    plugin.set_key_value(cinderlib.KeyValue('node-1', '{}'))
    for name in ('volume_id', 'volume_name', 'backend_name'):
        assert plugin.get_volumes(**{name: value}) == []
    for name in ('snapshot_id', 'snapshot_name', 'volume_id'):
        assert plugin.get_snapshots(**{name: value}) == []
    for name in ('connection_id', 'volume_id'):
        assert plugin.get_connections(**{name: value}) == []
    assert plugin.get_key_values(value) == []
    plugin.delete_key_value(cinderlib.KeyValue(value))  # nothing to do
    assert len(plugin.get_key_values()) == 1


def test_filters_match_exactly(plugin, backend):
    # MySQL's and MariaDB's collations ignore letter case and trailing
    # spaces; filters do not.
    names = ['Disk', 'disk', 'disk ']
    volumes = [backend.create_volume(1, name=name) for name in names]
    snapshots = [volumes[0].create_snapshot(name=name) for name in names]
    for name, volume, snapshot in zip(names, volumes, snapshots):
        assert plugin.get_volumes(volume_name=name) == [volume]
        assert [s.id for s in plugin.get_snapshots(
            snapshot_name=name)] == [snapshot.id]
    assert plugin.get_volumes(backend_name='FILTERS') == []
    assert plugin.get_volumes(volume_id=volumes[0].id.upper()) == []


def test_keys_differing_in_case_are_never_mixed_up(plugin):
    """MySQL's and MariaDB's default collations ignore letter case and
    trailing spaces: the schema gives keys, ids and names exact ones."""
    upper = cinderlib.KeyValue('Node-1', 'upper')
    plugin.set_key_value(upper)
    for similar in ('node-1', 'Node-1 '):
        kv = cinderlib.KeyValue(similar, 'other')
        plugin.set_key_value(kv)
        assert plugin.get_key_values(similar) == [kv]
    assert plugin.get_key_values('Node-1') == [upper]


def test_ids_and_names_differing_in_case_are_distinct(plugin, backend):
    cinderlib.setup(state_path=cinderlib.Backend.global_options().state_path,
                    persistence_config={'storage': plugin},
                    non_uuid_ids=True)
    first = backend.create_volume(1, name='Disk', id='Vol-A')
    second = backend.create_volume(1, name='disk', id='vol-a')
    third = backend.create_volume(1, name='Disk ', id='Vol-A ')
    for volume in (first, second, third):
        assert [v.id for v in plugin.get_volumes(
            volume_id=volume.id)] == [volume.id]
        assert [v.id for v in plugin.get_volumes(
            volume_name=volume.name)] == [volume.id]
        snapshot = volume.create_snapshot(name=volume.name,
                                          id=f'snap-{volume.id}')
        assert [s.id for s in plugin.get_snapshots(
            snapshot_name=volume.name)] == [snapshot.id]
        assert [s.id for s in plugin.get_snapshots(
            volume_id=volume.id)] == [snapshot.id]


def test_key_values_are_not_shared_with_callers(plugin):
    kv = cinderlib.KeyValue('node-1', 'first')
    plugin.set_key_value(kv)
    kv.value = b'changed after set'
    found = plugin.get_key_values('node-1')
    assert found == [cinderlib.KeyValue('node-1', 'first')]
    found[0].value = 'changed after get'
    assert plugin.get_key_values('node-1')[0].value == 'first'


@pytest.fixture
def sqlite_plugin(tmp_path):
    url = f'sqlite:///{tmp_path}/legacy.sqlite'
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': url})
    return cinderlib.Backend.persistence


def test_unreadable_key_values_do_not_break_the_listing(sqlite_plugin,
                                                        caplog):
    # Written before key-values were checked (SQLite stores any type).
    with sqlite_plugin.engine.begin() as conn:
        conn.execute(schema.key_values.insert(), [
            {'key': 'bytes', 'value': b'\x00\xff'},
            {'key': b'\xffkey', 'value': 'bytes key'}])
    good = cinderlib.KeyValue('node-1', '{"host": "node-1"}')
    sqlite_plugin.set_key_value(good)
    with caplog.at_level(logging.WARNING, 'cinderlib.persistence.dbms'):
        assert sqlite_plugin.get_key_values() == [good]
    assert "Leaving out stored key-value 'bytes'" in caplog.text
    with pytest.raises(exception.InvalidStoredData) as error:
        sqlite_plugin.get_key_values('bytes')
    assert "stored key_value 'bytes' is invalid" in str(error.value)
    assert 'its value is not text' in str(error.value)
    # Setting it again repairs it.
    sqlite_plugin.set_key_value(cinderlib.KeyValue('bytes', 'text'))
    assert sqlite_plugin.get_key_values('bytes') == [
        cinderlib.KeyValue('bytes', 'text')]


def test_rejected_key_value_leaves_the_row_unchanged(plugin):
    key = f'node-{uuid.uuid4()}'
    plugin.set_key_value(cinderlib.KeyValue(key, 'kept'))
    for value in (b'bytes', None, 'nul\x00'):
        with pytest.raises((exception.InvalidArgument,
                            exception.InvalidArgumentType)):
            plugin.set_key_value(cinderlib.KeyValue(key, value))
    assert plugin.get_key_values(key) == [cinderlib.KeyValue(key, 'kept')]
    if dialect(plugin) is not None:
        with plugin.engine.connect() as conn:
            rows = list(conn.execute(sqlalchemy.select(schema.key_values)))
        assert [(row.key, row.value) for row in rows] == [(key, 'kept')]
