"""Importing a database the retired cinderlib's ``db`` plugin wrote.

Each test builds that database in Cinder's schema (``legacy_schema``) on
SQLite or PostgreSQL, as an oVirt deployment holds it, imports it with
``cinderlib migrate-db`` (``legacy.migrate_database``/``cli_main``) and
drives the imported objects through the library with the file driver.
"""

import datetime
import io
import json
import os
import subprocess
import sys
import types
from contextlib import redirect_stderr, redirect_stdout

import pytest
import sqlalchemy as sa
from alembic import command

import cinderlib
from cinderlib import exception
from cinderlib.drivers.file import FileVolumeDriver
from cinderlib.persistence import legacy
from cinderlib.persistence import migrations
from cinderlib.persistence import schema
from tests.compat import legacy_schema

GiB = 1024 ** 3
BACKEND = 'ovirt_file'
NODE_1 = {'platform': 'x86_64', 'os_type': 'linux', 'ip': '192.0.2.11',
          'host': 'node-1', 'multipath': False,
          'initiator': 'iqn.1994-05.com.redhat:node-1', 'do_local_attach':
          False, 'uuid': 'b5c6a3b0-3f0e-4a4f-9f4f-3b8c1e0a1d11',
          'system uuid': '4c4c4544-0044-3010-8052-b4c04f4e3732',
          'nqn': 'nqn.2014-08.org.nvmexpress:uuid:node-1'}
NODE_2 = dict(NODE_1, host='node-2', ip='192.0.2.12',
              initiator='iqn.1994-05.com.redhat:node-2')


class SpecsRecordingDriver(FileVolumeDriver):
    """The file driver, recording the volume type each call sees: on the
    volume, and through Cinder's helpers that drivers call (which read the
    DB shim)."""

    seen = {}

    def _record(self, volume):
        from cinder.volume import volume_types
        type_id = volume.volume_type_id
        qos = volume_types.get_volume_type_qos_specs(type_id)['qos_specs']
        self.seen[volume.id] = {
            'extra_specs': dict(volume.volume_type.extra_specs),
            'helper_extra_specs':
                volume_types.get_volume_type_extra_specs(type_id),
            'qos': qos and (qos['consumer'], dict(qos['specs']))}

    def extend_volume(self, volume, new_size):
        self._record(volume)
        return super().extend_volume(volume, new_size)

    def create_cloned_volume(self, volume, src_vref):
        self._record(src_vref)
        self._record(volume)
        return super().create_cloned_volume(volume, src_vref)


@pytest.fixture(params=['sqlite', 'postgresql'])
def db_kind(request):
    return request.param


@pytest.fixture
def legacy_url(empty_database, db_kind):
    return empty_database(db_kind)


@pytest.fixture
def volumes_dir(tmp_path):
    path = tmp_path / 'volumes'
    path.mkdir(mode=0o700)
    return path


def conn_info(path, mode='rw'):
    return {'driver_volume_type': 'local',
            'data': {'device_path': str(path), 'access_mode': mode}}


@pytest.fixture
def old(legacy_url, db_kind, volumes_dir):
    """An oVirt-like deployment's database, years into the retired
    library, and the volume files of its file backend."""
    db = legacy_schema.LegacyDatabase(legacy_url)
    ids = types.SimpleNamespace(url=legacy_url, db=db, kind=db_kind)

    def files(object_id, size, prefix='volume-'):
        with open(volumes_dir / f'{prefix}{object_id}', 'wb') as f:
            f.truncate(size * GiB)

    ids.available = db.volume(
        BACKEND, 2, name='disk-available', description='ovirt disk',
        metadata={'ovirt_disk_id': 'd-1', 'purpose': 'data'},
        admin_metadata={'readonly': 'False'})
    files(ids.available, 2)
    ids.snapshot = db.snapshot(ids.available, BACKEND, name='snap-1',
                               metadata={'ovirt_snapshot': 's-1'})
    files(ids.snapshot, 2, 'snapshot-')
    ids.deleted_snapshot = db.snapshot(ids.available, BACKEND,
                                       deleted=True)

    ids.in_use = db.volume(
        BACKEND, 1, status='in-use', name='disk-in-use',
        extra_specs={'volume_backend_name': BACKEND,
                     'thin_provisioning': '<is> True'},
        qos_specs={'total_iops_sec': '1000', 'read_bytes_sec': '10485760'})
    files(ids.in_use, 1)
    path = volumes_dir / f'volume-{ids.in_use}'
    ids.connection_1 = db.connection(
        ids.in_use, NODE_1, conn_info(path),
        device={'type': 'file', 'path': str(path)})
    ids.connection_2 = db.connection(ids.in_use, NODE_2,
                                     conn_info(path, 'ro'),
                                     attach_mode='ro')
    ids.deleted_connection = db.connection(ids.in_use, NODE_2,
                                           conn_info(path), deleted=True)

    # Older Cinder releases left use_quota null.
    ids.error = db.volume(BACKEND, 1, status='error', name='failed',
                          use_quota=None)
    ids.deleted = db.volume(BACKEND, 4, deleted=True, name='gone')
    ids.snapshot_of_deleted = db.snapshot(ids.deleted, BACKEND,
                                          deleted=True)

    ids.unlinked_qos = db.volume(BACKEND, 1, extra_specs={'tier': 'gold'},
                                 qos_specs={'total_bytes_sec': '2048'},
                                 qos_shape='unlinked')
    files(ids.unlinked_qos, 1)
    if db_kind == 'sqlite':  # foreign keys forbid it elsewhere
        ids.orphaned_qos = db.volume(BACKEND, 1, extra_specs={'k': 'v'},
                                     qos_specs={'total_iops_sec': '5'},
                                     qos_shape='orphaned')
        files(ids.orphaned_qos, 1)

    ids.rbd = db.volume('ceph', 10, status='in-use', pool='rbd',
                        provider_location=None, name='ceph-disk')
    ids.rbd_connection = db.connection(ids.rbd, NODE_1, {
        'driver_volume_type': 'rbd',
        'data': {'name': f'volumes/volume-{ids.rbd}', 'hosts': ['192.0.2.1'],
                 'ports': ['6789'], 'cluster_name': 'ceph',
                 'auth_enabled': True, 'auth_username': 'cinder',
                 'secret_type': 'ceph', 'volume_id': ids.rbd,
                 'discard': True, 'access_mode': 'rw'}},
        device={'path': '/dev/rbd0', 'type': 'block'})

    db.key_value('node-1', json.dumps(NODE_1))
    db.key_value('node-2', json.dumps(NODE_2))
    db.close()
    return ids


def dump(url):
    """Every row of every table, comparable."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            meta = sa.MetaData()
            meta.reflect(conn)
            return {name: sorted(repr(tuple(row)) for row in
                                 conn.execute(table.select()))
                    for name, table in meta.tables.items()}
    finally:
        engine.dispose()


def use_db(url, tmp_path):
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': url})
    return cinderlib.Backend.persistence


def file_backend(volumes_dir):
    return cinderlib.Backend(
        volume_backend_name=BACKEND,
        volume_driver=f'{__name__}.SpecsRecordingDriver',
        file_volumes_dir=str(volumes_dir))


def legacy_row(url, table, object_id):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            table = getattr(legacy_schema, table)
            return conn.execute(table.select().where(
                table.c.id == object_id)).one()
    finally:
        engine.dispose()


def utc(naive):
    return naive.replace(tzinfo=datetime.timezone.utc)


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = legacy.cli_main(list(argv))
    return status, out.getvalue(), err.getvalue()


# -- setup() on a database that was not imported ------------------------------

def test_setup_refuses_a_retired_database_naming_the_command(old, tmp_path):
    before = dump(old.url)
    with pytest.raises(exception.InvalidPersistence) as error:
        use_db(old.url, tmp_path)
    message = str(error.value)
    masked = sa.engine.make_url(old.url).render_as_string(hide_password=True)
    assert f'cinderlib migrate-db --from {masked} --to {masked}' in message
    volumes = 6 if old.kind == 'sqlite' else 5
    assert f'{volumes} volumes and 2 key-values' in message
    assert '\n' not in message
    assert dump(old.url) == before  # refused untouched: no table of ours


def test_password_is_masked_in_every_message(empty_database, tmp_path):
    url = empty_database('postgresql')
    assert ':secret@' in url
    db = legacy_schema.LegacyDatabase(url)
    db.volume(BACKEND, 1)
    db.close()
    with pytest.raises(exception.InvalidPersistence) as error:
        use_db(url, tmp_path)
    assert 'secret' not in str(error.value)
    assert 'cinderlib:***@' in str(error.value)

    status, out, err = run_cli('--from', url, '--to', url, '--dry-run')
    assert status == 0 and 'secret' not in out + err
    assert json.loads(out)['source'].startswith('postgresql+psycopg://'
                                                'cinderlib:***@')
    unreachable = sa.engine.make_url(url).set(
        port=1).render_as_string(hide_password=False)
    status, out, err = run_cli('--from', unreachable, '--to', url)
    assert status == 1 and out == ''
    assert 'secret' not in err and err.count('\n') == 1
    assert 'cinderlib:***@127.0.0.1:1/' in err
    status, out, err = run_cli('--from', url, '--to', unreachable)
    assert status == 1 and 'secret' not in err and err.count('\n') == 1
    assert 'cinderlib:***@127.0.0.1:1/' in err
    missing = sa.engine.make_url(url).set(
        database='no_such_db').render_as_string(hide_password=False)
    status, out, err = run_cli('--from', url, '--to', missing)
    assert status == 1 and 'secret' not in err
    assert 'no_such_db' in err and err.count('\n') == 1
    status, out, err = run_cli('--from', url, '--to', url)
    assert (status, err) == (0, '') and 'secret' not in out
    assert json.loads(out)['imported']['volume'] == 1
    # A secret in the query string (libpq's sslpassword) too.
    with_query = f'{url}?sslpassword=hunter2'
    status, out, err = run_cli('--from', with_query, '--to', with_query)
    assert status == 0 and 'hunter2' not in out + err
    assert json.loads(out)['source'].endswith('?sslpassword=***')
    status, out, err = run_cli('--from', sa.engine.make_url(with_query).set(
        port=1).render_as_string(hide_password=False), '--to', with_query)
    assert status == 1 and 'hunter2' not in err and 'secret' not in err


def test_legacy_tables_holding_only_deleted_rows_are_not_refused(
        legacy_url, tmp_path):
    db = legacy_schema.LegacyDatabase(legacy_url)
    db.volume(BACKEND, 1, deleted=True)
    db.close()
    assert use_db(legacy_url, tmp_path).get_volumes() == []


def test_another_applications_volumes_table_is_not_taken_for_cinders(
        tmp_path):
    url = f'sqlite:///{tmp_path}/app.sqlite'
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE volumes (id TEXT, label TEXT)')
        conn.exec_driver_sql("INSERT INTO volumes VALUES ('1', 'x')")
    engine.dispose()
    assert use_db(url, tmp_path).get_volumes() == []
    status, out, err = run_cli('--from', url, '--to', url, '--dry-run')
    assert status == 1 and 'holds no table of the retired cinderlib' in err


def test_empty_tables_of_ours_beside_retired_ones_are_refused(old, tmp_path):
    engine = sa.create_engine(old.url)
    migrations.upgrade(engine)  # as a version without the check left it
    engine.dispose()
    with pytest.raises(exception.InvalidPersistence) as error:
        use_db(old.url, tmp_path)
    assert 'cinderlib migrate-db --from' in str(error.value)


def test_objects_of_ours_beside_retired_ones_are_used_with_a_warning(
        old, tmp_path, caplog):
    # A version without the check used the database.
    engine = sa.create_engine(old.url)
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(schema.key_values.insert(), {'key': 'mine',
                                                  'value': 'value'})
    engine.dispose()
    with caplog.at_level('WARNING', logger='cinderlib.persistence.legacy'):
        plugin = use_db(old.url, tmp_path)
    assert [kv.key for kv in plugin.get_key_values()] == ['mine']
    assert 'volumes and 2 key-values of the retired cinderlib, never ' \
           'imported: see cinderlib migrate-db' in caplog.text


def test_an_imported_database_emptied_since_is_not_refused(
        old, tmp_path, volumes_dir):
    legacy.migrate_database(old.url, old.url)
    plugin = use_db(old.url, tmp_path)
    backend = file_backend(volumes_dir)
    for volume in backend.volumes:
        for connection in list(volume.connections):
            connection.disconnect()
        for snapshot in list(volume.snapshots):
            snapshot.delete()
        volume.delete()
    rbd = plugin.get_volumes(volume_id=old.rbd)[0]
    plugin.delete_connection(rbd.connections[0])
    plugin.delete_volume(rbd)
    for key_value in plugin.get_key_values():
        plugin.delete_key_value(key_value)
    # Nothing of ours left, the retired tables as they were: still not
    # refused, and nothing comes back.
    assert use_db(old.url, tmp_path).get_volumes() == []


# -- the import ---------------------------------------------------------------

def test_dry_run_reports_and_writes_nothing(old):
    before = dump(old.url)
    report = legacy.migrate_database(old.url, old.url, dry_run=True)
    assert dump(old.url) == before
    volumes = 6 if old.kind == 'sqlite' else 5
    assert report.dry_run and report.ok
    assert report.imported == {'volume': volumes, 'snapshot': 1,
                               'connection': 3, 'key_value': 2}
    assert report.deleted == {'volume': 1, 'snapshot': 2,
                              'connection': 1, 'key_value': 0}
    assert report.skipped == [] and report.refused == []


def test_dry_run_into_a_new_sqlite_file_creates_nothing(old, tmp_path):
    target = tmp_path / 'new.sqlite'
    report = legacy.migrate_database(old.url, f'sqlite:///{target}',
                                     dry_run=True)
    assert report.imported['volume'] >= 5
    assert not target.exists()


def test_everything_is_imported_as_stored(old, tmp_path):
    report = legacy.migrate_database(old.url, old.url)
    assert report.ok and not report.dry_run
    assert report.imported['connection'] == 3
    plugin = use_db(old.url, tmp_path)
    Volume, Snapshot = cinderlib.Volume, cinderlib.Snapshot

    volume = Volume.get_by_id(old.available)
    row = legacy_row(old.url, 'volumes', old.available)
    assert (volume.size, volume.status, volume.name, volume.description) == (
        2, 'available', 'disk-available', 'ovirt disk')
    assert volume.host == f'ovirt-engine@{BACKEND}#{BACKEND}'
    assert volume.backend_name == BACKEND
    assert volume.created_at == utc(row.created_at)
    assert volume.updated_at == utc(row.updated_at)
    assert (volume.user_id, volume.project_id) == ('cinderlib', 'cinderlib')
    assert volume.availability_zone == 'nova'
    assert volume.metadata == {'ovirt_disk_id': 'd-1', 'purpose': 'data'}
    assert volume.admin_metadata == {'readonly': 'False'}
    assert volume.attach_status == 'detached'
    # Cinder's default type: this library's own type, with no specs.
    assert volume.volume_type_id == volume.id
    assert volume.volume_type.extra_specs == {}
    assert volume.volume_type.qos_specs is None
    assert [s.id for s in volume.snapshots] == [old.snapshot]
    assert volume.connections == []

    snapshot = Snapshot.get_by_id(old.snapshot)
    assert (snapshot.name, snapshot.status, snapshot.volume_size) == (
        'snap-1', 'available', 2)
    assert snapshot.metadata == {'ovirt_snapshot': 's-1'}
    assert snapshot.volume_type_id == volume.id
    assert snapshot.progress == '100%'  # was the backend's name
    assert snapshot.volume.id == volume.id

    in_use = Volume.get_by_id(old.in_use)
    assert (in_use.status, in_use.attach_status) == ('in-use', 'attached')
    assert in_use.volume_type.extra_specs == {
        'volume_backend_name': BACKEND, 'thin_provisioning': '<is> True'}
    qos = in_use.volume_type.qos_specs
    assert (qos.id, qos.consumer, qos.specs) == (in_use.id, 'back-end', {
        'total_iops_sec': '1000', 'read_bytes_sec': '10485760'})
    connections = {c.id: c for c in in_use.connections}
    assert set(connections) == {old.connection_1, old.connection_2}
    first, second = connections[old.connection_1], connections[
        old.connection_2]
    path = first.conn_info['data']['device_path']
    assert first.connection_info == {
        'conn': conn_info(path), 'connector': NODE_1,
        'device': {'type': 'file', 'path': path}}
    assert (first.attach_status, first.attached_host, first.attach_mode) == (
        'attached', 'node-1', 'rw')
    assert first.connector_info == NODE_1 and first.path == path
    assert second.connection_info['device'] is None and not second.attached
    assert (second.attach_mode, second.attached_host) == ('ro', 'node-2')
    assert cinderlib.Connection.get_by_id(old.connection_1).volume_id == (
        in_use.id)
    with pytest.raises(exception.ConnectionNotFound):
        cinderlib.Connection.get_by_id(old.deleted_connection)

    error = Volume.get_by_id(old.error)
    assert (error.status, error.use_quota) == ('error', True)
    for gone in (old.deleted,):
        with pytest.raises(exception.VolumeNotFound):
            Volume.get_by_id(gone)
    for gone in (old.deleted_snapshot, old.snapshot_of_deleted):
        with pytest.raises(exception.SnapshotNotFound):
            Snapshot.get_by_id(gone)

    unlinked = Volume.get_by_id(old.unlinked_qos)
    assert unlinked.volume_type.extra_specs == {'tier': 'gold'}
    assert unlinked.volume_type.qos_specs.specs == {
        'total_bytes_sec': '2048'}
    if old.kind == 'sqlite':
        orphaned = Volume.get_by_id(old.orphaned_qos)
        assert orphaned.volume_type.extra_specs == {'k': 'v'}
        assert orphaned.volume_type.qos_specs is None
        assert [(n.kind, n.id) for n in report.notes] == [
            ('volume', old.orphaned_qos)]
        assert 'hold no values' in report.notes[0].reason

    rbd = Volume.get_by_id(old.rbd)
    assert (rbd.backend_name, rbd.pool_name, rbd.size) == ('ceph', 'rbd', 10)
    rbd_connection = rbd.connections[0]
    assert rbd_connection.protocol == 'rbd'
    assert rbd_connection.conn_info['data']['auth_username'] == 'cinder'
    assert rbd_connection.device == {'path': '/dev/rbd0', 'type': 'block'}
    assert cinderlib.Backend.persistence is plugin

    assert {kv.key: json.loads(kv.value) for kv in plugin.get_key_values()
            } == {'node-1': NODE_1, 'node-2': NODE_2}
    assert plugin.get_volumes(volume_name='disk-in-use')[0].id == in_use.id
    assert len(plugin.get_volumes(backend_name=BACKEND)) == (
        5 if old.kind == 'sqlite' else 4)


def test_imported_volumes_work_with_the_file_driver(old, tmp_path,
                                                    volumes_dir):
    legacy.migrate_database(old.url, old.url)
    use_db(old.url, tmp_path)
    backend = file_backend(volumes_dir)
    SpecsRecordingDriver.seen.clear()
    volume = backend.volumes_filtered(volume_id=old.in_use)[0]

    # The driver sees the volume type's specs, on the volume and through
    # Cinder's helpers (the DB shim).
    assert volume.extend(2) == 2 * GiB
    assert os.path.getsize(volumes_dir / f'volume-{volume.id}') == 2 * GiB
    seen = SpecsRecordingDriver.seen[volume.id]
    specs = {'volume_backend_name': BACKEND,
             'thin_provisioning': '<is> True'}
    assert seen == {'extra_specs': specs, 'helper_extra_specs': specs,
                    'qos': ('back-end', {'total_iops_sec': '1000',
                                         'read_bytes_sec': '10485760'})}
    clone = volume.clone(name='clone')
    assert SpecsRecordingDriver.seen[clone.id] == seen
    assert clone.size == 2 and clone.volume_type.extra_specs == specs

    for connection in list(volume.connections):
        connection.disconnect()
    assert cinderlib.Volume.get_by_id(volume.id).status == 'available'
    assert cinderlib.Backend.persistence.get_connections(
        volume_id=volume.id) == []

    available = cinderlib.Volume.get_by_id(old.available)
    from_snapshot = available.snapshots[0].create_volume(name='restored')
    assert from_snapshot.status == 'available' and from_snapshot.size == 2
    with pytest.raises(exception.InvalidVolume):
        available.delete()  # it has a snapshot
    available.snapshots[0].delete()
    assert not (volumes_dir / f'snapshot-{old.snapshot}').exists()
    available.delete()
    assert not (volumes_dir / f'volume-{old.available}').exists()
    with pytest.raises(exception.VolumeNotFound):
        cinderlib.Volume.get_by_id(old.available)
    cinderlib.Volume.get_by_id(old.error).delete()

    # A new process sees it all the same.
    use_db(old.url, tmp_path)
    names = {v.name for v in backend.volumes}
    assert {'clone', 'restored', 'disk-in-use'} <= names
    assert 'disk-available' not in names and 'failed' not in names


def test_a_second_run_changes_nothing(old):
    legacy.migrate_database(old.url, old.url)
    before = dump(old.url)
    report = legacy.migrate_database(old.url, old.url)
    assert dump(old.url) == before
    assert report.ok and sum(report.imported.values()) == 0
    assert report.unchanged == {
        'volume': 6 if old.kind == 'sqlite' else 5, 'snapshot': 1,
        'connection': 3, 'key_value': 2}
    assert report.skipped == [] and report.notes == []


def test_a_dry_run_reads_a_target_at_an_older_schema(old):
    """A dry run does not upgrade the target: one imported into before
    revision 0005 holds its volumes' types in their own table."""
    legacy.migrate_database(old.url, old.url)
    engine = sa.create_engine(old.url)
    with engine.connect() as connection:
        command.downgrade(migrations._config(connection), '0004')
        connection.commit()
    engine.dispose()
    before = dump(old.url)
    assert 'cinderlib_volume_types' in before
    report = legacy.migrate_database(old.url, old.url, dry_run=True)
    assert dump(old.url) == before
    assert report.ok and sum(report.imported.values()) == 0
    assert report.unchanged['volume'] == (6 if old.kind == 'sqlite' else 5)
    assert report.skipped == [] and report.refused == []


def test_objects_changed_or_deleted_since_the_import_stay_so(
        old, tmp_path, volumes_dir):
    legacy.migrate_database(old.url, old.url)
    plugin = use_db(old.url, tmp_path)
    backend = file_backend(volumes_dir)
    backend.volumes_filtered(volume_id=old.error)[0].delete()
    backend.volumes_filtered(volume_id=old.unlinked_qos)[0].extend(3)
    kv = plugin.get_key_values('node-2')[0]
    plugin.delete_key_value(kv)

    before = dump(old.url)
    report = legacy.migrate_database(old.url, old.url)
    assert dump(old.url) == before
    assert report.ok and sum(report.imported.values()) == 0
    assert sorted((e.kind, e.id, e.reason) for e in report.skipped) == sorted([
        ('volume', old.error, 'imported before, deleted in the target '
                              'since: left as it is'),
        ('volume', old.unlinked_qos, 'imported before, changed in the '
                                     'target since: left as it is'),
        ('key_value', 'node-2', 'imported before, deleted in the target '
                                'since: left as it is')])
    with pytest.raises(exception.VolumeNotFound):
        cinderlib.Volume.get_by_id(old.error)


def test_a_separate_target_is_filled_and_the_source_left_untouched(
        old, empty_database, tmp_path):
    target = empty_database(old.kind)
    before = dump(old.url)
    report = legacy.migrate_database(old.url, target)
    assert report.ok and report.imported['volume'] >= 5
    assert dump(old.url) == before
    assert use_db(target, tmp_path).get_volumes(volume_id=old.in_use)
    with pytest.raises(exception.InvalidPersistence):
        use_db(old.url, tmp_path)  # still only the retired tables


def test_different_rows_in_the_target_are_refused_not_overwritten(
        old, empty_database, tmp_path, volumes_dir):
    target = empty_database(old.kind)
    use_db(target, tmp_path)
    backend = file_backend(tmp_path / 'other')
    mine = backend.create_volume(3, id=old.in_use, name='not the old one')
    cinderlib.Backend.persistence.set_key_value(
        cinderlib.KeyValue('node-1', 'mine'))
    before = dump(target)

    report = legacy.migrate_database(old.url, target)
    assert not report.ok
    refused = sorted((e.kind, e.id) for e in report.refused)
    assert refused == sorted([
        ('volume', old.in_use), ('connection', old.connection_1),
        ('connection', old.connection_2), ('key_value', 'node-1')])
    reasons = {e.id: e.reason for e in report.refused}
    assert reasons[old.in_use] == ('the target holds a different volume '
                                   'with this id')
    assert reasons[old.connection_1] == (f'its volume {old.in_use} is '
                                         f'refused in the target')
    assert report.imported['key_value'] == 1
    after = dump(target)
    assert {r for r in before['cinderlib_volumes']} <= set(
        after['cinderlib_volumes'])
    use_db(target, tmp_path)
    assert cinderlib.Volume.get_by_id(mine.id).name == 'not the old one'
    assert cinderlib.Backend.persistence.get_key_values('node-1')[
        0].value == 'mine'

    status, out, err = run_cli('--from', old.url, '--to', target)
    assert status == 1 and len(json.loads(out)['refused']) == 4
    assert err == ('cinderlib migrate-db: 4 object(s) refused, listed '
                   'under "refused"\n')


def test_rows_that_cannot_be_read_are_refused_with_the_reason(old):
    engine = sa.create_engine(old.url)
    with engine.begin() as conn:
        conn.execute(legacy_schema.volume_attachment.update().where(
            legacy_schema.volume_attachment.c.id == old.connection_2).values(
                connection_info='{not json'))
        conn.execute(legacy_schema.volumes.update().where(
            legacy_schema.volumes.c.id == old.error).values(
                host='no-backend-here'))
        conn.execute(legacy_schema.snapshots.update().where(
            legacy_schema.snapshots.c.id == old.snapshot).values(
                status='no such status'))
        conn.execute(legacy_schema.key_value.update().where(
            legacy_schema.key_value.c.key == 'node-2').values(value=None))
    engine.dispose()
    report = legacy.migrate_database(old.url, old.url)
    reasons = {(e.kind, e.id): e.reason for e in report.refused}
    assert reasons[('connection', old.connection_2)].startswith(
        'its connection_info is not JSON')
    assert reasons[('volume', old.error)].startswith(
        "its host 'no-backend-here' names no backend")
    assert reasons[('snapshot', old.snapshot)].startswith('its row: ')
    assert reasons[('key_value', 'node-2')] == 'its value is not text: None'
    assert len(reasons) == 4
    assert report.imported['connection'] == 2  # the others are imported


# -- the command --------------------------------------------------------------

def test_command_prints_the_report_and_exits_0(old):
    status, out, err = run_cli('--from', old.url, '--to', old.url,
                               '--dry-run')
    assert (status, err) == (0, '')
    assert json.loads(out)['dry_run'] is True
    status, out, err = run_cli('--from', old.url, '--to', old.url)
    report = json.loads(out)
    assert (status, err, report['ok']) == (0, '', True)
    assert report['imported']['key_value'] == 2
    status, out, err = run_cli('--to', old.url, '--from', old.url)
    assert status == 0 and sum(json.loads(out)['imported'].values()) == 0


def test_the_cinderlib_command_runs_it(old):
    """``cinderlib migrate-db`` is the same tool, in a process of its own."""
    child = subprocess.run(
        [sys.executable, '-m', 'cinderlib', 'migrate-db', '--from', old.url,
         '--to', old.url, '--dry-run'],
        capture_output=True, text=True, timeout=300)
    assert (child.returncode, child.stderr) == (0, '')
    report = json.loads(child.stdout)
    assert report['dry_run'] is True and report['ok'] is True


@pytest.mark.parametrize('argv, message', [
    ([], 'the following arguments are required: --from, --to'),
    (['--from', 'x'], 'the following arguments are required: --to'),
    (['--from', 'not a url', '--to', 'sqlite:///x.sqlite'],
     'Invalid source_url: is not an SQLAlchemy URL'),
    (['--from', 'sqlite://', '--to', 'sqlite:///x.sqlite'],
     'Invalid source_url: is an in-memory SQLite database: name a file'),
    (['--from', 'sqlite:///x', '--to', 'sqlite:///y', '--bogus'],
     'unrecognized arguments: --bogus'),
])
def test_command_usage_errors_exit_2_with_one_line(argv, message):
    status, out, err = run_cli(*argv)
    assert (status, out) == (2, '')
    assert err == f'cinderlib migrate-db: {message}\n'


def test_command_failures_exit_1_with_one_line(tmp_path, empty_database):
    missing = tmp_path / 'missing.sqlite'
    status, out, err = run_cli('--from', f'sqlite:///{missing}',
                               '--to', f'sqlite:///{tmp_path}/t.sqlite')
    assert (status, out) == (1, '')
    assert err == (f'cinderlib migrate-db: source database sqlite:///'
                   f'{missing}: file {missing} does not exist\n')
    assert not missing.exists()
    ours = empty_database('sqlite')
    use_db(ours, tmp_path)
    status, out, err = run_cli('--from', ours, '--to', ours)
    assert status == 1 and 'holds no table of the retired cinderlib' in err
    assert err.count('\n') == 1
