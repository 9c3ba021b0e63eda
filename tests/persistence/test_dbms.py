"""The db plugin's own behaviour: errors, migrations, deletes, conflicts,
and state shared between processes."""

import gc
import json
import os
import subprocess
import sys
import textwrap
import weakref

import pytest
import sqlalchemy

import cinderlib
from cinderlib import exception
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.persistence import dbms
from cinderlib.persistence import migrations
from cinderlib.persistence import schema

MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture
def url(tmp_path):
    return f'sqlite:///{tmp_path}/state.sqlite'


def use_db(url, tmp_path, **kwargs):
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': url, **kwargs})
    return cinderlib.Backend.persistence


def test_bad_url_is_a_clear_error():
    with pytest.raises(exception.InvalidPersistence) as error:
        cinderlib.setup(persistence_config={'storage': 'db',
                                            'connection': 'not a url'})
    assert 'SQLAlchemy URL' in str(error.value)
    with pytest.raises(exception.InvalidPersistence):
        cinderlib.setup(persistence_config={'storage': 'db'})


def test_unreachable_database_names_url_without_password():
    url = 'postgresql+psycopg://admin:hunter2@127.0.0.1:1/cinderlib'
    with pytest.raises(exception.InvalidPersistence) as error:
        cinderlib.setup(persistence_config={'storage': 'db',
                                            'connection': url})
    message = str(error.value)
    assert 'hunter2' not in message
    assert 'admin:***@127.0.0.1:1/cinderlib' in message


def test_unknown_dialect_is_a_clear_error():
    with pytest.raises(exception.InvalidPersistence) as error:
        cinderlib.setup(persistence_config={
            'storage': 'db', 'connection': 'nosuchdb://u:pw@host/db'})
    assert 'pw' not in str(error.value)


def test_schema_created_at_head(url, tmp_path):
    plugin = use_db(url, tmp_path)
    with plugin.engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.revisions()[-1]
        tables = set(sqlalchemy.inspect(conn).get_table_names())
    assert {'cinderlib_volumes', 'cinderlib_snapshots',
            'cinderlib_connections', 'cinderlib_key_values'} <= tables
    # Volume types are in the volumes' rows (revision 0005).
    assert 'cinderlib_volume_types' not in tables


@pytest.mark.parametrize('start', migrations.revisions())
def test_upgrade_from_every_revision(tmp_path, start):
    engine = sqlalchemy.create_engine(f'sqlite:///{tmp_path}/old.sqlite')
    migrations.upgrade(engine, start)
    migrations.upgrade(engine)
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.revisions()[-1]


def test_mysql_upgrade_keeps_rows_and_compares_text_exactly(
        empty_database):
    """Revision 0003 gives MySQL/MariaDB's id, name and key columns an
    exact collation, keeping what they hold."""
    engine = sqlalchemy.create_engine(empty_database('mysql'))
    migrations.upgrade(engine, '0002')
    with engine.begin() as conn:
        conn.execute(schema.key_values.insert(), {'key': 'Node-1',
                                                  'value': '{}'})
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(schema.key_values.insert(), {'key': 'node-1',
                                                  'value': '[]'})
        rows = dict(conn.execute(schema.key_values.select()).all())
        columns = {row.Field: row.Collation for row in conn.exec_driver_sql(
            'SHOW FULL COLUMNS FROM cinderlib_volumes')}
    engine.dispose()
    assert rows == {'Node-1': '{}', 'node-1': '[]'}
    assert columns['id'].endswith('_bin') and columns['name'].endswith(
        '_bin')


def test_newer_schema_is_refused_untouched(url, tmp_path):
    plugin = use_db(url, tmp_path)
    with plugin.engine.begin() as conn:
        conn.execute(sqlalchemy.text(
            f"UPDATE {migrations.VERSION_TABLE} SET version_num = 'future'"))
    with pytest.raises(exception.InvalidPersistence) as error:
        use_db(url, tmp_path)
    assert "'future'" in str(error.value)
    with plugin.engine.connect() as conn:
        assert migrations.current_revision(conn) == 'future'


def test_sqlite_file_uses_wal(url, tmp_path):
    plugin = use_db(url, tmp_path)
    with plugin.engine.connect() as conn:
        assert conn.exec_driver_sql('PRAGMA journal_mode').scalar() == 'wal'
        assert conn.exec_driver_sql('PRAGMA synchronous').scalar() == 1
    plugin = use_db(url, tmp_path, sqlite_synchronous=False)
    with plugin.engine.connect() as conn:
        assert conn.exec_driver_sql('PRAGMA synchronous').scalar() == 0


def test_soft_deletes_keep_rows_hidden(url, tmp_path):
    plugin = use_db(url, tmp_path, soft_deletes=True)
    backend = cinderlib.Backend('soft', volume_driver=MEMORY_DRIVER)
    volume = backend.create_volume(1)
    volume.delete()
    assert plugin.get_volumes(volume_id=volume.id) == []
    with plugin.engine.connect() as conn:
        row = conn.execute(dbms.schema.volumes.select()).one()
    assert row.id == volume.id and row.deleted
    assert json.loads(row.data)['versioned_object.data']['id'] == volume.id


def test_outdated_copy_is_a_conflict_not_a_lost_update(url, tmp_path):
    use_db(url, tmp_path)
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER)
    volume = backend.create_volume(1)
    other = dbms.DBPersistence(url)  # as another process would see it
    theirs = other.get_volumes(volume_id=volume.id)[0]
    assert theirs is not volume
    theirs._ovo.display_name = 'theirs'
    other.set_volume(theirs)
    volume._ovo.display_name = 'ours'
    with pytest.raises(dbms.PersistenceConflict):
        volume.save()
    volume.refresh()
    assert volume.name == 'theirs'
    volume._ovo.display_name = 'ours'
    volume.save()
    assert other.get_volumes(volume_id=volume.id)[0].name == 'ours'


def test_memory_db_is_fresh_per_plugin():
    cinderlib.setup(persistence_config={'storage': 'memory_db'})
    first = cinderlib.Backend.persistence
    cinderlib.Backend('m', volume_driver=MEMORY_DRIVER).create_volume(1)
    cinderlib.setup(persistence_config={'storage': 'memory_db'})
    assert len(first.get_volumes()) == 1
    assert cinderlib.Backend.persistence.get_volumes() == []


def run_python(code, tmp_path):
    done = subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=ROOT, STATE=str(tmp_path)))
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


SETUP = '''
    import os, cinderlib
    cinderlib.setup(state_path=os.environ['STATE'], persistence_config={
        'storage': 'db',
        'connection': f"sqlite:///{os.environ['STATE']}/shared.sqlite"})
'''


def test_driver_data_survives_a_process_restart(tmp_path):
    volume_id = run_python(SETUP + f'''
    backend = cinderlib.Backend('mem', volume_driver='{MEMORY_DRIVER}')
    volume = backend.create_volume(1, name='kept', metadata={{'m': '1'}},
                                   extra_specs={{'e': '2'}},
                                   qos_specs={{'q': '3'}})
    volume.create_snapshot(name='snap')
    volume.connect({{'host': 'node'}})
    print(volume.id)
    ''', tmp_path).strip()
    out = run_python(SETUP + f'''
    import json
    backend = cinderlib.Backend('mem', volume_driver='{MEMORY_DRIVER}')
    volume = cinderlib.Volume.get_by_id('{volume_id}')
    db = cinderlib.Backend.persistence.db
    print(json.dumps({{
        'name': volume.name, 'status': volume.status,
        'metadata': volume.metadata, 'admin': volume.admin_metadata,
        'extra': db.volume_type_extra_specs_get(
            backend.context, volume.volume_type_id),
        'qos': db.volume_type_qos_specs_get(
            backend.context, volume.volume_type_id)['qos_specs']['specs'],
        'snapshots': [s.name for s in volume.snapshots],
        'hosts': [c.connector_info['host'] for c in volume.connections],
        'same_backend': volume.backend is backend}}))
    ''', tmp_path)
    assert json.loads(out) == {
        'name': 'kept', 'status': 'in-use', 'metadata': {'m': '1'},
        'admin': {'memory': 'yes'}, 'extra': {'e': '2'}, 'qos': {'q': '3'},
        'snapshots': ['snap'], 'hosts': ['node'], 'same_backend': True}


def test_file_volumes_survive_a_process_restart(tmp_path):
    backend = ('''backend = cinderlib.Backend('files', volume_driver=
        'cinderlib.drivers.file.FileVolumeDriver',
        file_volumes_dir=os.environ['STATE'] + '/volumes')''')
    volume_id = run_python(SETUP + f'''
    {backend}
    volume = backend.create_volume(1)
    path = volume.attach().path
    with open(path, 'r+b') as device:
        device.write(b'persisted')
    volume.detach()
    print(volume.id)
    ''', tmp_path).strip()
    out = run_python(SETUP + f'''
    {backend}
    [volume] = backend.volumes
    assert volume.id == '{volume_id}'
    clone = volume.clone()
    with open(clone.attach().path, 'rb') as device:
        print(device.read(9).decode())
    clone.detach()
    clone.delete()
    volume.delete()
    print(len(backend.volumes), os.listdir(os.environ['STATE'] + '/volumes'))
    ''', tmp_path)
    assert out.split() == ['persisted', '0', '[]']


def test_processes_with_other_backends_do_not_see_each_other(tmp_path):
    for name in ('one', 'two'):
        run_python(SETUP + f'''
        cinderlib.Backend('{name}', volume_driver='{MEMORY_DRIVER}'
                          ).create_volume(1, name='{name}')
        '''.replace('\n        ', '\n    '), tmp_path)
    out = run_python(SETUP + f'''
    backend = cinderlib.Backend('one', volume_driver='{MEMORY_DRIVER}')
    print([v.name for v in backend.volumes])
    ''', tmp_path)
    assert out.strip() == "['one']"


def test_stored_text_serializes_like_the_rebuilt_object(url, tmp_path):
    use_db(url, tmp_path)
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER)
    volume = backend.create_volume(1, extra_specs={'e': '1'})
    volume.create_snapshot()
    volume.connect({'host': 'node'})
    backend.create_volume(2)
    cinderlib.Backend.set_persistence({'storage': 'db', 'connection': url})
    fast_backend = json.loads(backend.dumps)
    [loaded, other] = backend.volumes
    assert '_ovo' not in vars(loaded)  # nothing rebuilt yet
    fast = [json.loads(loaded.dumps), json.loads(loaded.to_jsons(True)),
            json.loads(other.jsons)]
    assert '_ovo' not in vars(loaded)
    loaded._ovo, other._ovo  # rebuild: serialization takes the slow path
    slow = [json.loads(loaded.dumps), json.loads(loaded.to_jsons(True)),
            json.loads(other.jsons)]
    assert fast == slow
    assert fast_backend == json.loads(backend.dumps)
    assert len(fast[0]['ovo']['versioned_object.data']['snapshots'][
        'versioned_object.data']['objects']) == 1
    reloaded = cinderlib.load(fast[0])
    assert [s.id for s in reloaded.snapshots] == [
        s.id for s in loaded.snapshots]


def test_two_processes_racing_lose_no_update(tmp_path):
    """Each process adds 1 to a counter in the volume's metadata 40 times,
    retrying on conflicts: the counter ends at 80."""
    volume_id = run_python(SETUP + f'''
    backend = cinderlib.Backend('mem', volume_driver='{MEMORY_DRIVER}')
    print(backend.create_volume(1, metadata={{'counter': '0'}}).id)
    ''', tmp_path).strip()
    worker = SETUP + f'''
    from cinderlib import exception
    cinderlib.Backend('mem', volume_driver='{MEMORY_DRIVER}')
    volume = cinderlib.Volume.get_by_id('{volume_id}')
    conflicts = 0
    for _ in range(40):
        while True:
            volume.refresh()
            count = int(volume.metadata['counter'])
            volume._ovo.metadata = {{'counter': str(count + 1)}}
            try:
                volume.save()
                break
            except exception.PersistenceConflict:
                conflicts += 1
    print(conflicts)
    '''
    env = dict(os.environ, PYTHONPATH=ROOT, STATE=str(tmp_path))
    workers = [subprocess.Popen([sys.executable, '-c',
                                 textwrap.dedent(worker)], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    for process in workers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-3000:]
    final = run_python(SETUP + f'''
    cinderlib.Backend('mem', volume_driver='{MEMORY_DRIVER}')
    print(cinderlib.Volume.get_by_id('{volume_id}').metadata['counter'])
    ''', tmp_path)
    assert final.strip() == '80'


def test_reading_a_newer_row_keeps_unsaved_changes(url, tmp_path):
    use_db(url, tmp_path)
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER)
    volume = backend.create_volume(1)
    other = dbms.DBPersistence(url)
    theirs = other.get_volumes(volume_id=volume.id)[0]
    theirs._ovo.display_name = 'theirs'
    other.set_volume(theirs)
    volume._ovo.display_description = 'unsaved here'
    found = cinderlib.Backend.persistence.get_volumes(volume_id=volume.id)
    assert found[0] is volume
    assert volume.description == 'unsaved here'
    with pytest.raises(exception.PersistenceConflict):
        volume.save()
    volume.refresh()  # nothing unsaved any more: adopts the newer row
    assert volume.name == 'theirs'


# -- rows damaged or edited by hand (see test_fuzz_stored_rows.py) -----------
def damaged(url, tmp_path, table, object_id, **values):
    """A new plugin on ``url`` after an UPDATE of one row, as another
    process would see it."""
    plugin = cinderlib.Backend.persistence
    key = table.c.key if table is dbms.schema.key_values else table.c.id
    with plugin.engine.begin() as conn:
        conn.execute(table.update().where(key == object_id).values(values))
    return dbms.DBPersistence(url)


def row_data(table, object_id):
    """The decoded ``data`` of a stored row."""
    with cinderlib.Backend.persistence.engine.connect() as conn:
        return json.loads(conn.execute(table.select().where(
            table.c.id == object_id)).one().data)


def reading_edited(url, tmp_path, table, object_id, data):
    """A new plugin, made the storage, after ``data`` replaced a row's."""
    other = damaged(url, tmp_path, table, object_id, data=json.dumps(data))
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': other})
    return other


@pytest.fixture
def stored(url, tmp_path):
    use_db(url, tmp_path)
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER)
    volume = backend.create_volume(1, extra_specs={'e': '1'})
    snapshot = volume.create_snapshot()
    backend.create_volume(2)
    return backend, volume, snapshot


def test_damaged_data_raises_naming_the_row_each_time(url, tmp_path,
                                                      stored):
    backend, volume, snapshot = stored
    with cinderlib.Backend.persistence.engine.connect() as conn:
        data = conn.execute(dbms.schema.volumes.select().where(
            dbms.schema.volumes.c.id == volume.id)).one().data
    other = damaged(url, tmp_path, dbms.schema.volumes, volume.id,
                    data=data[:100])
    cinderlib.Backend.persistence = other
    found = {v.id: v for v in other.get_volumes()}
    broken = found[volume.id]
    for use in (lambda: broken.size, lambda: repr(broken),
                lambda: broken.jsons, lambda: backend.dumps,
                lambda: broken.to_jsons(simplified=True)):
        with pytest.raises(exception.InvalidStoredData) as error:
            use()
        assert (error.value.kind, error.value.object_id) == (
            'volume', volume.id)
        assert volume.id in str(error.value)
        assert '_ovo' not in vars(broken)
    assert len([v for v in found.values() if v.id != volume.id][0].jsons)


@pytest.mark.parametrize('field, value', [
    ('size', '1'), ('size', None), ('status', 7), ('metadata', None),
    ('created_at', 'yesterday'), ('host', ['a']),
    ('volume_type_id', 'a2b7a2e5-54ac-4b47-9d0b-1e6e87c63f5c')])
def test_fields_of_wrong_types_are_refused(url, tmp_path, stored, field,
                                           value):
    """The fast rebuild trusted stored data: "1" became a size."""
    backend, volume, snapshot = stored
    with cinderlib.Backend.persistence.engine.connect() as conn:
        data = json.loads(conn.execute(dbms.schema.volumes.select().where(
            dbms.schema.volumes.c.id == volume.id)).one().data)
    data['versioned_object.data'][field] = value
    other = damaged(url, tmp_path, dbms.schema.volumes, volume.id,
                    data=json.dumps(data))
    [found] = other.get_volumes(volume_id=volume.id)
    with pytest.raises(exception.InvalidStoredData) as error:
        found.size
    assert field in str(error.value)


@pytest.mark.parametrize('column, value', [
    ('version', 'abc'), ('id', b'\x01'), ('backend_name', ''),
    ('backend_name', 'a#b'), ('data', b'\x00')])
def test_columns_of_wrong_types_are_refused(url, tmp_path, stored, column,
                                            value):
    backend, volume, snapshot = stored
    other = damaged(url, tmp_path, dbms.schema.snapshots, snapshot.id,
                    **{column: value})
    with pytest.raises(exception.InvalidStoredData) as error:
        other.get_snapshots()
    assert error.value.kind == 'snapshot'
    assert error.value.object_id in (snapshot.id, value)


def test_a_bad_date_column_is_not_read(url, tmp_path, stored):
    """Listing parsed every row's created_at: one bad one failed all."""
    backend, volume, snapshot = stored
    with cinderlib.Backend.persistence.engine.begin() as conn:
        conn.execute(sqlalchemy.text(
            "UPDATE cinderlib_volumes SET created_at = 'garbage' "
            "WHERE id = :id"), {'id': volume.id})
    other = dbms.DBPersistence(url)
    assert volume.id in [v.id for v in other.get_volumes()]


def test_columns_must_agree_with_the_data(url, tmp_path, stored):
    backend, volume, snapshot = stored
    [other_volume] = [v for v in backend.volumes if v.id != volume.id]
    other = damaged(url, tmp_path, dbms.schema.snapshots, snapshot.id,
                    volume_id=other_volume.id)
    cinderlib.Backend.persistence = other
    [listed] = other.get_volumes(volume_id=other_volume.id)[0].snapshots
    with pytest.raises(exception.InvalidStoredData) as error:
        listed.status
    assert 'volume_id' in str(error.value)


def test_volume_without_its_type_is_refused(url, tmp_path, stored):
    """Reading its type lazy-loaded it through itself, endlessly."""
    backend, volume, snapshot = stored
    other = damaged(url, tmp_path, dbms.schema.volumes, volume.id,
                    type_data=None)
    cinderlib.Backend.persistence = other
    [found] = other.get_volumes(volume_id=volume.id)
    with pytest.raises(exception.InvalidStoredData):
        found.volume_type
    with pytest.raises(exception.InvalidStoredData):
        other.db.volume_type_get(backend.context, volume.id)


def test_postgresql_lists_in_index_order_before_any_analyze(
        empty_database, tmp_path):
    """Tables not analyzed yet (autovacuum has not come by after a bulk
    creation): PostgreSQL still reads a backend's volumes in the order of
    the listing index, rather than sorting every row with its data."""
    url = empty_database('postgresql')
    plugin = use_db(url, tmp_path)
    with plugin.engine.begin() as conn:
        conn.exec_driver_sql('ALTER TABLE cinderlib_volumes SET '
                             '(autovacuum_enabled = false)')
    backend = cinderlib.Backend('b', volume_driver=MEMORY_DRIVER)
    created = [backend.create_volume(1).id for _ in range(300)]
    statement = dbms._query(dbms.schema.volumes, ('backend_name',),
                            'postgresql').statement.params(backend_name='b')
    sql = statement.compile(dialect=plugin.engine.dialect,
                            compile_kwargs={'literal_binds': True})
    with plugin.engine.connect() as conn:
        analyzed = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stats WHERE tablename = "
            "'cinderlib_volumes'").scalar()
        plan = '\n'.join(row[0] for row in conn.exec_driver_sql(
            f'EXPLAIN {sql}'))
    assert analyzed == 0
    assert 'Sort' not in plan, plan
    assert 'ix_cinderlib_volumes_backend_listing' in plan, plan
    assert [v.id for v in backend.volumes] == created
    plugin.engine.dispose()


def test_damaged_key_values_are_refused(url, tmp_path, stored):
    plugin = cinderlib.Backend.persistence
    plugin.set_key_value(cinderlib.KeyValue('node', 'connector'))
    other = damaged(url, tmp_path, dbms.schema.key_values, 'node',
                    value=b'\x01')
    with pytest.raises(exception.InvalidStoredData) as error:
        other.get_key_values('node')
    assert error.value.object_id == 'node'
    # Listed with the others, it is left out (with a warning) rather than
    # hiding them all.
    assert other.get_key_values() == []


def test_unknown_fields_are_left_out(url, tmp_path, stored):
    backend, volume, snapshot = stored
    with cinderlib.Backend.persistence.engine.connect() as conn:
        data = json.loads(conn.execute(dbms.schema.snapshots.select().where(
            dbms.schema.snapshots.c.id == snapshot.id)).one().data)
    data['versioned_object.data']['from_the_future'] = 1
    other = damaged(url, tmp_path, dbms.schema.snapshots, snapshot.id,
                    data=json.dumps(data))
    [found] = other.get_snapshots(snapshot_id=snapshot.id)
    assert 'from_the_future' not in found.to_jsons(simplified=True)
    assert found.to_json(simplified=True) == snapshot.to_json(
        simplified=True)


def test_load_save_stores_the_volume_type_it_brings(url, tmp_path, stored):
    """Types were written only with new rows: the old one stayed."""
    backend, volume, snapshot = stored
    data = volume.json
    data['ovo']['versioned_object.data']['volume_type'][
        'versioned_object.data']['extra_specs'] = {'e': '2'}
    cinderlib.load(data, save=True)
    [found] = dbms.DBPersistence(url).get_volumes(volume_id=volume.id)
    assert found.volume_type.extra_specs == {'e': '2'}


def test_load_save_is_one_transaction(url, tmp_path, stored, monkeypatch):
    backend, volume, snapshot = stored
    text = volume.dumps
    volume.delete  # keep a reference; start from an empty database
    fresh = use_db(f'sqlite:///{tmp_path}/fresh.sqlite', tmp_path)

    def fail(conn, snapshot, written):
        raise RuntimeError('disk full')
    monkeypatch.setattr(fresh, '_store_snapshot', fail)
    with pytest.raises(RuntimeError):
        cinderlib.load(text, save=True)
    assert fresh.get_volumes() == []
    monkeypatch.undo()
    loaded = cinderlib.load(text, save=True)
    assert [v.id for v in fresh.get_volumes()] == [volume.id]
    assert fresh.object_slot(loaded)['version'] == 1


def test_fields_left_out_serialize_as_when_built(url, tmp_path, stored):
    """A row lacking a field serialized without it until the object was
    built, and with it (null) after."""
    backend, volume, snapshot = stored
    with cinderlib.Backend.persistence.engine.connect() as conn:
        data = json.loads(conn.execute(dbms.schema.snapshots.select().where(
            dbms.schema.snapshots.c.id == snapshot.id)).one().data)
    del data['versioned_object.data']['user_id']
    other = damaged(url, tmp_path, dbms.schema.snapshots, snapshot.id,
                    data=json.dumps(data))
    [found] = other.get_snapshots(snapshot_id=snapshot.id)
    unbuilt = found.to_json(simplified=True)
    assert unbuilt['ovo']['versioned_object.data']['user_id'] is None
    found._ovo
    assert found.to_json(simplified=True) == unbuilt


def test_metadata_left_out_is_none_not_a_lazy_load(url, tmp_path, stored):
    """A volume row whose data lacks its metadata fields: the volume holds
    none (as load() takes it), serializes alike built or not, and reading
    them never lazy-loads through the DB shim, which found the same
    object again and again (the fuzz test hit a RecursionError)."""
    backend, volume, snapshot = stored
    data = row_data(dbms.schema.volumes, volume.id)
    for name in ('metadata', 'admin_metadata', 'glance_metadata'):
        del data['versioned_object.data'][name]
    other = reading_edited(url, tmp_path, dbms.schema.volumes, volume.id,
                           data)
    [found] = other.get_volumes(volume_id=volume.id)
    unbuilt = found.json
    assert (found.metadata, found._ovo.admin_metadata,
            found._ovo.glance_metadata) == ({}, {}, {})
    assert found.json == unbuilt
    assert cinderlib.load(found.jsons).json == unbuilt
    # The DB shim reads a volume's metadata that is not set as none.
    cinder_ovo.forget_field(found._ovo, 'admin_metadata')
    assert found._ovo.admin_metadata == {}


@pytest.mark.parametrize('type_id', ['left out', None, 'another'])
def test_snapshot_type_id_not_its_volumes_reads_as_load_gives_it(
        url, tmp_path, stored, type_id):
    """A snapshot row whose volume_type_id is left out, null or another
    id reads with its volume's type (the volume's id), as ``load()``
    upgrades its serialized copy: the round trip keeps it (the fuzz test
    found the snapshot read with null and loaded back with the id)."""
    backend, volume, snapshot = stored
    data = row_data(dbms.schema.snapshots, snapshot.id)
    fields = data['versioned_object.data']
    if type_id == 'left out':
        del fields['volume_type_id']
    else:
        fields['volume_type_id'] = (
            None if type_id is None else backend.create_volume(1).id)
    other = reading_edited(url, tmp_path, dbms.schema.snapshots,
                           snapshot.id, data)
    [found] = other.get_snapshots(snapshot_id=snapshot.id)
    unbuilt = found.json
    assert unbuilt['ovo']['versioned_object.data'][
        'volume_type_id'] == volume.id
    assert found._ovo.volume_type_id == volume.id
    assert found.json == unbuilt
    assert cinderlib.load(found.jsons).json == unbuilt


def test_listing_leaves_garbage_collection_on(url, tmp_path, monkeypatch):
    """Listings pause collections while they build objects; collections
    are on again afterwards, also when the listing failed."""
    plugin = use_db(url, tmp_path)
    backend = cinderlib.Backend('gc', volume_driver=MEMORY_DRIVER,
                                memory_attach_dir=str(tmp_path))
    backend.create_volume(1, name='one')
    paused = []
    build = plugin._objects

    def objects(cls, rows):
        paused.append(gc.isenabled())
        return build(cls, rows)
    monkeypatch.setattr(plugin, '_objects', objects)
    assert len(backend.volumes) == 1
    assert paused == [False] and gc.isenabled()

    def failing(cls, rows):
        raise RuntimeError('boom')
    monkeypatch.setattr(plugin, '_objects', failing)
    with pytest.raises(RuntimeError):
        backend.volumes
    assert gc.isenabled()


def test_live_objects_are_held_weakly(url, tmp_path):
    plugin = use_db(url, tmp_path)
    backend = cinderlib.Backend('weak', volume_driver=MEMORY_DRIVER,
                                memory_attach_dir=str(tmp_path))
    for number in range(3):
        backend.create_volume(1, name=f'v{number}')
    listed = backend.volumes
    assert all(a is b for a, b in zip(backend.volumes, listed))
    gone = weakref.ref(listed[0])
    del listed
    gc.collect()
    assert gone() is None
    # Ids of objects gone are dropped as the map grows.
    live = plugin._live['volume']
    for number in range(5000):
        live[f'id-{number}'] = cinderlib.KeyValue('k', 'v')
    assert len(live._refs) < 2048
