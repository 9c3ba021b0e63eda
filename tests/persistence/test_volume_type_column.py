"""A volume's type in its own row (schema revision 0005): databases
written before it are upgraded with every volume's type, and back; writes
keep the row's type what the volume's is."""

import json

import pytest
import sqlalchemy
from alembic import command

import cinderlib
from cinderlib import exception
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.persistence import dbms
from cinderlib.persistence import migrations
from cinderlib.persistence import schema

MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
DATA = 'versioned_object.data'
TYPES = 'cinderlib_volume_types'
KINDS = ['sqlite', 'postgresql', 'mysql']


def use_db(url, tmp_path, **kwargs):
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': url, **kwargs})
    return cinderlib.Backend.persistence


def type_row(volume_id, text):
    """The row of cinderlib_volume_types the versions before 0005 wrote
    for a volume's type."""
    fields = json.loads(text)[DATA]
    qos = fields['qos_specs']
    return {'id': fields['id'], 'volume_id': volume_id,
            'extra_specs': json.dumps(fields['extra_specs']),
            'qos_specs': (json.dumps(qos[DATA]['specs'])
                          if qos is not None else None),
            'data': text}


@pytest.fixture
def written(tmp_path):
    """Volumes as this library writes them: (volume rows, their types'
    data by volume id, the specs of each)."""
    plugin = use_db(f'sqlite:///{tmp_path}/source.sqlite', tmp_path)
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER)
    specs = {}
    for extra, qos in (({'e': '1'}, {'total_iops_sec': '100'}),
                       ({}, None), ({'e': '3', 'f': 'ü'}, None)):
        volume = backend.create_volume(1, extra_specs=extra, qos_specs=qos)
        specs[volume.id] = (extra, qos)
    with plugin.engine.connect() as conn:
        rows = [row._asdict() for row in conn.execute(
            schema.volumes.select().order_by(schema.volumes.c.created_at))]
    plugin.engine.dispose()
    types = {row['id']: row.pop('type_data') for row in rows}
    rows[-1]['deleted'] = True  # soft-deleted: its type is kept too
    return rows, types, specs


def at_0004(url, rows, types):
    """A database at revision 0004 holding ``rows`` with their types as
    the versions before wrote them, one volume's type twice (edited by
    hand) and the type row of a volume gone."""
    engine = sqlalchemy.create_engine(url)
    migrations.upgrade(engine, '0004')
    first, second = rows[0]['id'], rows[1]['id']
    type_rows = [type_row(volume_id, text)
                 for volume_id, text in types.items()]
    type_rows += [dict(type_row(second, types[first]), id='zzz-copy'),
                  dict(type_row('gone', types[first]), id='gone')]
    with engine.begin() as conn:
        meta = sqlalchemy.MetaData()
        volumes = sqlalchemy.Table(schema.volumes.name, meta,
                                   autoload_with=conn)
        assert 'type_data' not in volumes.c
        conn.execute(volumes.insert(), rows)
        conn.execute(sqlalchemy.Table(TYPES, meta, autoload_with=conn
                                      ).insert(), type_rows)
    return engine, type_rows


def stored_types(engine):
    with engine.connect() as conn:
        return dict(conn.execute(sqlalchemy.select(
            schema.volumes.c.id, schema.volumes.c.type_data)).all())


def tables(engine):
    return set(sqlalchemy.inspect(engine).get_table_names())


@pytest.mark.parametrize('kind', KINDS)
def test_upgrade_moves_each_volumes_type_into_its_row(
        kind, empty_database, written, tmp_path):
    rows, types, specs = written
    url = empty_database(kind)
    engine, _ = at_0004(url, rows, types)
    reader = dbms.DBPersistence(url)  # upgrades
    try:
        assert stored_types(engine) == types
        assert TYPES not in tables(engine)
        listed = reader.get_volumes(backend_name='b')
        assert [v.id for v in listed] == [row['id'] for row in rows[:-1]]
        for volume in listed:
            extra, qos = specs[volume.id]
            assert volume.volume_type.extra_specs == extra
            assert volume.volume_type.id == volume.id
            assert (volume._qos_specs(), volume._extra_specs()) == (qos,
                                                                    extra)
    finally:
        reader.engine.dispose()
        engine.dispose()


def downgrade(engine, revision):
    with engine.connect() as connection:
        command.downgrade(migrations._config(connection), revision)
        connection.commit()


@pytest.mark.parametrize('kind', KINDS)
def test_downgrade_restores_the_types_table(kind, empty_database, written):
    rows, types, specs = written
    url = empty_database(kind)
    engine, type_rows = at_0004(url, rows, types)
    try:
        with engine.connect() as conn:
            before = sqlalchemy.inspect(conn).get_columns(TYPES)
            if kind == 'mysql':
                collations = {row.Field: row.Collation for row in
                              conn.exec_driver_sql(
                                  f'SHOW FULL COLUMNS FROM {TYPES}')}
        migrations.upgrade(engine)
        downgrade(engine, '0004')
        with engine.connect() as conn:
            assert migrations.current_revision(conn) == '0004'
            inspector = sqlalchemy.inspect(conn)
            assert 'type_data' not in {
                c['name'] for c in inspector.get_columns(schema.volumes.name)}
            assert [(c['name'], c['nullable']) for c in
                    inspector.get_columns(TYPES)] == [
                        (c['name'], c['nullable']) for c in before]
            assert [i['column_names'] for i in inspector.get_indexes(
                TYPES)] == [['volume_id']]
            restored = [row._asdict() for row in conn.exec_driver_sql(
                f'SELECT * FROM {TYPES} ORDER BY id')]
            if kind == 'mysql':
                assert {row.Field: row.Collation for row in
                        conn.exec_driver_sql(
                            f'SHOW FULL COLUMNS FROM {TYPES}')
                        } == collations
        # The copy and the type of a volume gone were not kept.
        assert restored == sorted(type_rows[:len(types)],
                                  key=lambda row: row['id'])
        migrations.upgrade(engine)
        assert stored_types(engine) == types
    finally:
        engine.dispose()


def test_an_upgrade_stopped_after_adding_the_column_completes(
        tmp_path, written):
    """MySQL commits each DDL statement: a run may stop between them."""
    rows, types, specs = written
    url = f'sqlite:///{tmp_path}/stopped.sqlite'
    engine, _ = at_0004(url, rows, types)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'ALTER TABLE cinderlib_volumes ADD COLUMN type_data TEXT')
    migrations.upgrade(engine)
    assert stored_types(engine) == types
    engine.dispose()


# -- writes -------------------------------------------------------------------
@pytest.fixture
def url(tmp_path):
    return f'sqlite:///{tmp_path}/state.sqlite'


def read_again(url, volume_id):
    """The volume as another process reads it."""
    [found] = dbms.DBPersistence(url).get_volumes(volume_id=volume_id)
    return found


def test_extra_specs_changed_in_place_are_stored(url, tmp_path):
    """Only new rows were given their type: a read volume's change of
    specs was lost."""
    use_db(url, tmp_path)
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER)
    volume = backend.create_volume(1, extra_specs={'e': '1'})
    [volume] = dbms.DBPersistence(url).get_volumes(volume_id=volume.id)
    volume.volume_type.extra_specs['e'] = '2'
    volume.volume_type.qos_specs = None
    volume.save()
    found = read_again(url, volume.id)
    assert found.volume_type.extra_specs == {'e': '2'}
    assert found.volume_type.qos_specs is None


def test_a_new_type_is_stored(url, tmp_path):
    """A retype: the volume given another type object."""
    use_db(url, tmp_path)
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER)
    volume = backend.create_volume(1, extra_specs={'e': '1'})
    volume.save()
    volume._ovo.volume_type = cinder_ovo.new_volume_type(
        backend.context, volume.id, {'e': 'new'}, {'read_iops_sec': '5'})
    volume.save()
    found = read_again(url, volume.id)
    assert found.volume_type.extra_specs == {'e': 'new'}
    assert dict(found.volume_type.qos_specs.specs) == {'read_iops_sec': '5'}
    assert found.to_json() == volume.to_json()


def test_an_outdated_copy_does_not_overwrite_the_type(url, tmp_path):
    use_db(url, tmp_path)
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER)
    volume = backend.create_volume(1, extra_specs={'e': '1'})
    other = read_again(url, volume.id)
    volume.volume_type.extra_specs['e'] = 'mine'
    volume.save()
    other.volume_type.extra_specs['e'] = 'theirs'
    with pytest.raises(exception.PersistenceConflict):
        other.save()
    assert read_again(url, volume.id).volume_type.extra_specs == {
        'e': 'mine'}


@pytest.mark.parametrize('soft_deletes', [True, False])
def test_deleting_a_volume_keeps_or_removes_its_type(url, tmp_path,
                                                     soft_deletes):
    plugin = use_db(url, tmp_path, soft_deletes=soft_deletes)
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER)
    volume = backend.create_volume(1, extra_specs={'e': '1'})
    kept = backend.create_volume(1, extra_specs={'e': 'kept'})
    text = cinder_ovo.to_primitive_text(volume._ovo.volume_type)
    volume.delete()
    rows = stored_types(plugin.engine)
    assert rows.get(volume.id) == (text if soft_deletes else None)
    assert volume.id in rows if soft_deletes else volume.id not in rows
    assert read_again(url, kept.id).volume_type.extra_specs == {
        'e': 'kept'}
