"""The db plugin when its database goes away: a PostgreSQL server of this
module's own that the tests stop, crash and start again, SQLite on a full
or read-only filesystem, and (on any machine) a database that cannot be
opened.

Every library call that needs the database while it is out of reach
raises ``PersistenceUnavailable``; what the storage driver did is kept on
the object in memory; stored rows come back intact; and work resumes once
the database is back, in the same process.
"""

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest
import sqlalchemy
from sqlalchemy import pool

import cinderlib
from cinderlib import exception
from cinderlib.persistence import schema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'tools', 'db-servers.sh')
MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
CONNECTOR = {'host': 'outage-node', 'initiator': 'iqn.2024-01.test:outage'}
DRIVERS = ['memory', 'file']


class PostgreSQL:
    """A PostgreSQL server in ``directory``, started and stopped through
    tools/db-servers.sh; restarts keep its data and port."""

    def __init__(self, directory):
        self.directory = directory
        self.url = None

    def _run(self, action):
        done = subprocess.run(
            ['bash', SCRIPT, action, self.directory, 'postgresql'],
            capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f'db-servers.sh {action} failed: '
                               f'{done.stderr.strip()[-1500:]}')
        return done.stdout

    @property
    def running(self):
        return os.path.exists(os.path.join(self.directory, 'postgresql',
                                           'db', 'postmaster.pid'))

    def start(self):
        for line in self._run('start').splitlines():
            name, _, value = line.partition('=')
            if name == 'CINDERLIB_TEST_POSTGRES_URL':
                self.url = value

    def stop(self):
        """Fast shutdown: the server ends every session."""
        self._run('stop')

    def crash(self):
        """Immediate shutdown: no checkpoint, as if it had crashed."""
        self._run('crash')


@pytest.fixture(scope='module')
def postgresql():
    """This module's own server: the shared session one is never
    stopped."""
    work = tempfile.mkdtemp(prefix='cinderlib-outage-')
    server = PostgreSQL(work)
    try:
        server.start()
    except (RuntimeError, OSError) as error:
        shutil.rmtree(work, ignore_errors=True)
        if os.environ.get('CI'):
            pytest.fail(str(error))
        pytest.skip(str(error))
    yield server
    server.stop()
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def pg_url(postgresql):
    """A new database on the server, which is running at the start."""
    if not postgresql.running:
        postgresql.start()
    name = f'outage_{uuid.uuid4().hex[:12]}'
    admin = sqlalchemy.create_engine(postgresql.url, poolclass=pool.NullPool,
                                     isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE {name}')
    yield sqlalchemy.engine.make_url(postgresql.url).set(
        database=name).render_as_string(hide_password=False)
    if not postgresql.running:
        postgresql.start()
    engine = getattr(cinderlib.Backend.persistence, 'engine', None)
    if engine is not None:
        engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE {name} WITH (FORCE)')


def use_db(url, tmp_path):
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': url})
    return cinderlib.Backend.persistence


def make_backend(kind, tmp_path):
    if kind == 'memory':
        return cinderlib.Backend('memory', volume_driver=MEMORY_DRIVER,
                                 memory_attach_dir=str(tmp_path))
    return cinderlib.Backend('files', volume_driver=FILE_DRIVER,
                             file_volumes_dir=str(tmp_path / 'volumes'))


def driver_state(backend):
    """What the storage holds: volumes, snapshots, exports."""
    driver = backend.driver
    if hasattr(driver, 'exports'):
        return (dict(driver.volumes), dict(driver.snapshots),
                dict(driver.exports))
    return {entry.name: entry.stat().st_size
            for entry in os.scandir(driver.directory)}


def on_storage(backend, volume):
    driver = backend.driver
    if hasattr(driver, 'exports'):
        return volume.name_in_storage in driver.volumes
    return os.path.exists(driver.volume_path(volume))


def stored_rows(url):
    """Every row of the plugin's tables, read on a connection of its own."""
    engine = sqlalchemy.create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return {table.name: sorted(
                (tuple(row) for row in conn.execute(table.select())),
                key=repr) for table in (schema.volumes, schema.snapshots,
                                        schema.connections)}
    finally:
        engine.dispose()


def stored_status(url, volume_id):
    engine = sqlalchemy.create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.select(
                schema.volumes.c.status).where(
                    schema.volumes.c.id == volume_id)).scalar()
    finally:
        engine.dispose()


def assert_refused(call, url):
    """``call()`` raises PersistenceUnavailable naming the database with
    its password masked; returns the exception."""
    with pytest.raises(exception.PersistenceUnavailable) as error:
        call()
    message = str(error.value)
    shown = sqlalchemy.engine.make_url(url).render_as_string(
        hide_password=True)
    assert shown in message and error.value.url == shown
    password = sqlalchemy.engine.make_url(url).password
    assert not password or password not in message
    assert error.value.reason and error.value.reason in message
    return error.value


def refuse_everything(backend, kept, snapshot, url):
    """With the database out of reach: every operation is refused before
    the storage driver changes anything, and ``kept`` and ``snapshot`` are
    unchanged."""
    state = driver_state(backend)
    size = kept.size
    calls = {
        'create': lambda: backend.create_volume(1),
        'list': lambda: backend.volumes,
        'get_by_id': lambda: cinderlib.Volume.get_by_id(kept.id),
        'extend': lambda: kept.extend(size + 1),
        'snapshot': lambda: kept.create_snapshot(),
        'clone': lambda: kept.clone(),
        'connect': lambda: kept.connect(CONNECTOR),
        'delete': lambda: kept.delete(),
        'save': lambda: kept.save(),
        'snapshot.delete': snapshot.delete,
        'volume_from_snapshot': lambda: snapshot.create_volume(),
    }
    for name, call in calls.items():
        error = assert_refused(call, url)
        if name in ('list', 'get_by_id'):
            assert error.resource is None
        elif name == 'snapshot.delete':
            assert error.resource is snapshot
        elif name in ('extend', 'delete', 'save', 'connect'):
            assert error.resource is kept, name
    assert driver_state(backend) == state
    assert (kept.status, kept.size, snapshot.status) == (
        'available', size, 'available')
    assert not kept._ovo.obj_what_changed()
    assert not snapshot._ovo.obj_what_changed()


@pytest.mark.parametrize('kind', DRIVERS)
def test_operations_while_the_server_is_down(postgresql, pg_url, tmp_path,
                                             kind):
    use_db(pg_url, tmp_path)
    backend = make_backend(kind, tmp_path)
    kept = backend.create_volume(1, name='kept')
    other = backend.create_volume(1, name='other')
    snapshot = other.create_snapshot(name='before')
    connection = other.connect(CONNECTOR)
    before = stored_rows(pg_url)

    postgresql.stop()
    refuse_everything(backend, kept, snapshot, pg_url)
    # A disconnect reads the stored connection first: refused before the
    # driver is asked anything.
    error = assert_refused(connection.disconnect, pg_url)
    assert error.resource is connection

    postgresql.start()
    assert stored_rows(pg_url) == before
    # Work resumes at once: the first calls after the restart succeed.
    assert {v.id for v in backend.volumes} == {kept.id, other.id}
    calls = list(getattr(backend.driver, 'calls', []))
    connection.disconnect()
    if kind == 'memory':
        assert [call[0] for call in backend.driver.calls[len(calls):]] == [
            'terminate_connection', 'remove_export']
    assert other.status == 'available' and not other.connections
    assert cinderlib.Volume.get_by_id(other.id).status == 'available'
    kept.extend(2)
    kept.create_snapshot(name='after').delete()
    kept.clone(name='clone').delete()
    kept.connect(CONNECTOR).disconnect()
    snapshot.create_volume().delete()
    snapshot.delete()
    for volume in (kept, other):
        volume.delete()
    assert backend.volumes == []
    assert driver_state(backend) in (({}, {}, {}), {})


@pytest.mark.parametrize('kind', DRIVERS)
def test_server_lost_after_the_driver_created_the_volume(
        postgresql, pg_url, tmp_path, monkeypatch, kind):
    """The volume exists on the storage and in memory, its row says
    'creating'; saving it once the server is back completes the record."""
    use_db(pg_url, tmp_path)
    backend = make_backend(kind, tmp_path)
    driver = backend.driver
    create = driver.create_volume

    def create_then_lose_the_database(volume):
        update = create(volume)
        postgresql.stop()
        return update

    monkeypatch.setattr(driver, 'create_volume',
                        create_then_lose_the_database)
    error = assert_refused(lambda: backend.create_volume(1, name='made'),
                           pg_url)
    monkeypatch.undo()
    volume = error.resource
    assert volume.status == 'available' and volume.provider_location
    assert on_storage(backend, volume)
    assert_refused(volume.save, pg_url)

    postgresql.start()
    assert stored_status(pg_url, volume.id) == 'creating'
    volume.save()
    assert stored_status(pg_url, volume.id) == 'available'
    assert cinderlib.Volume.get_by_id(volume.id) is volume
    volume.extend(2)
    volume.delete()
    assert backend.volumes == [] and stored_rows(pg_url)['cinderlib_volumes'] \
        == []
    assert driver_state(backend) in (({}, {}, {}), {})


def test_crash_keeps_committed_rows(postgresql, pg_url, tmp_path):
    use_db(pg_url, tmp_path)
    backend = make_backend('memory', tmp_path)
    volumes = [backend.create_volume(1, name=f'v{n}') for n in range(5)]
    volumes[0].create_snapshot()
    volumes[1].connect(CONNECTOR)
    volumes[2].extend(3)
    before = stored_rows(pg_url)

    postgresql.crash()
    assert_refused(lambda: backend.create_volume(1), pg_url)
    postgresql.start()
    assert stored_rows(pg_url) == before
    made = backend.create_volume(1, name='after the crash')
    assert len(backend.volumes) == 6 and made.status == 'available'
    # Restarted while idle: the pooled connections are dead, and the next
    # call replaces them instead of failing.
    postgresql.crash()
    postgresql.start()
    volumes[3].extend(2)
    assert cinderlib.Volume.get_by_id(volumes[3].id).size == 2


def test_dropped_connections_are_replaced(postgresql, pg_url, tmp_path):
    """Connections the server ended (a restart, an administrator) are
    tested before use and replaced: no call fails."""
    plugin = use_db(pg_url, tmp_path)
    backend = make_backend('memory', tmp_path)
    backend.create_volume(1)
    assert plugin.engine.pool.checkedin() >= 1
    name = sqlalchemy.engine.make_url(pg_url).database
    admin = sqlalchemy.create_engine(postgresql.url, poolclass=pool.NullPool)
    with admin.connect() as conn:
        ended = conn.execute(sqlalchemy.text(
            'SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity '
            'WHERE datname = :name'), {'name': name}).scalar()
    admin.dispose()
    assert ended >= 1
    backend.create_volume(1)
    assert len(backend.volumes) == 2


def test_without_pre_ping_one_call_fails_after_a_restart(
        postgresql, pg_url, tmp_path):
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': pg_url, 'pool_pre_ping': False})
    backend = make_backend('memory', tmp_path)
    volume = backend.create_volume(1)
    postgresql.stop()
    postgresql.start()
    assert_refused(lambda: volume.extend(2), pg_url)
    assert volume.status == 'available' and volume.size == 1
    volume.extend(2)
    assert cinderlib.Volume.get_by_id(volume.id).size == 2


# -- any machine: a database that cannot be opened ----------------------------

@contextlib.contextmanager
def unreachable(plugin):
    """Make the plugin's database impossible to open (its directory gone),
    as a server that is down is."""
    engine = plugin.engine
    plugin.engine = sqlalchemy.create_engine(
        'sqlite:////nonexistent-cinderlib-dir/state.sqlite')
    try:
        yield
    finally:
        plugin.engine.dispose()
        plugin.engine = engine


@pytest.mark.parametrize('kind', DRIVERS)
def test_operations_on_a_database_that_cannot_be_opened(tmp_path, kind):
    url = f'sqlite:///{tmp_path}/state.sqlite'
    plugin = use_db(url, tmp_path)
    backend = make_backend(kind, tmp_path)
    kept = backend.create_volume(1, name='kept')
    other = backend.create_volume(1)
    snapshot = other.create_snapshot()
    connection = other.connect(CONNECTOR)
    with unreachable(plugin):
        refuse_everything(backend, kept, snapshot, url)
        with pytest.raises(exception.PersistenceUnavailable):
            connection.disconnect()
    connection.disconnect()
    assert cinderlib.Volume.get_by_id(other.id).status == 'available'
    kept.extend(2)
    assert cinderlib.Volume.get_by_id(kept.id).size == 2


def test_connect_while_unrecordable_exports_nothing(tmp_path):
    plugin = use_db(f'sqlite:///{tmp_path}/state.sqlite', tmp_path)
    backend = make_backend('memory', tmp_path)
    volume = backend.create_volume(1)
    volume.connect(CONNECTOR)
    driver = backend.driver
    calls_before = list(driver.calls)
    with unreachable(plugin):
        with pytest.raises(exception.PersistenceUnavailable):
            volume.connect(CONNECTOR)
    # The connection is recorded before the driver is asked for anything.
    assert driver.calls == calls_before
    assert driver.connections[volume.name_in_storage] == [CONNECTOR['host']]
    assert len(volume.connections) == 1


def test_connect_records_the_connection_and_its_volume_together(
        tmp_path, monkeypatch):
    """Once exported, the connection and its volume are stored in one
    transaction: when it fails, neither changed, the export is taken
    back and the volume is left as it was."""
    plugin = use_db(f'sqlite:///{tmp_path}/state.sqlite', tmp_path)
    backend = make_backend('memory', tmp_path)
    volume = backend.create_volume(1)
    driver = backend.driver
    stored = []
    set_objects = plugin.set_objects

    def failing(objects):
        stored.append([type(obj).__name__ for obj in objects])
        raise exception.PersistenceUnavailable('db', 'saving', 'lost')

    monkeypatch.setattr(plugin, 'set_objects', failing)
    with pytest.raises(exception.PersistenceUnavailable):
        volume.connect(CONNECTOR)
    assert stored == [['Connection', 'Volume']]
    assert driver.connections.get(volume.name_in_storage, []) == []
    assert volume.name_in_storage not in driver.exports
    assert (volume.status, volume._ovo.attach_status) == (
        'available', 'detached')
    assert volume.connections == []
    assert list(volume._ovo.volume_attachment) == []
    assert cinderlib.Volume.get_by_id(volume.id).status == 'available'

    monkeypatch.setattr(plugin, 'set_objects', set_objects)
    connection = volume.connect(CONNECTOR)
    again = cinderlib.Volume.get_by_id(volume.id)
    assert (again.status, again._ovo.attach_status) == ('in-use',
                                                        'attached')
    assert [c.id for c in again.connections] == [connection.id]
    assert again.connections[0].attach_status == 'attached'


def test_commit_reported_failed_but_done(tmp_path, monkeypatch):
    """A connection lost while committing: the database may have
    committed.  Saving again recognizes its own row instead of reporting
    a conflict, and an uncommitted write is simply written again."""
    url = f'sqlite:///{tmp_path}/state.sqlite'
    plugin = use_db(url, tmp_path)
    volume = make_backend('memory', tmp_path).create_volume(1)
    begin = plugin._begin

    @contextlib.contextmanager
    def lost_reply(operation, resource=None):
        with begin(operation, resource) as conn:
            yield conn
        raise exception.PersistenceUnavailable('db', operation, 'lost',
                                               resource)

    @contextlib.contextmanager
    def lost_before_commit(operation, resource=None):
        with begin(operation, resource) as conn:
            yield conn
            raise exception.PersistenceUnavailable('db', operation, 'lost',
                                                   resource)

    for fault, stored in ((lost_reply, 'first'), (lost_before_commit, None)):
        volume.name = 'first'
        monkeypatch.setattr(plugin, '_begin', fault)
        with pytest.raises(exception.PersistenceUnavailable):
            volume.save()
        monkeypatch.undo()
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.select(
                schema.volumes.c.name)).scalar() == (stored or '')
        volume.name = 'second'
        volume.save()
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.select(
                schema.volumes.c.name)).scalar() == 'second'
        engine.dispose()
        volume.name = ''
        volume.save()
    assert cinderlib.Volume.get_by_id(volume.id) is volume


# -- SQLite on a full or read-only filesystem (root: a small tmpfs) -----------

@pytest.fixture
def small_filesystem(tmp_path):
    """A 4 MiB tmpfs; unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip('mounting a tmpfs needs root')
    mount_point = tmp_path / 'fs'
    mount_point.mkdir()
    mounted = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', str(mount_point)],
        capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f'cannot mount a tmpfs: {mounted.stderr.strip()}')
    yield mount_point
    persistence = cinderlib.Backend.persistence
    if getattr(persistence, 'engine', None) is not None:
        persistence.engine.dispose()
    subprocess.run(['umount', '-l', str(mount_point)], check=True)


def fill(directory):
    """Write a file until the filesystem is full; returns its path."""
    path = os.path.join(directory, 'filler')
    with open(path, 'wb') as filler:
        try:
            while True:
                filler.write(b'\0' * 65536)
                filler.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return path


def integrity(url):
    engine = sqlalchemy.create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql('PRAGMA integrity_check').scalar()
    finally:
        engine.dispose()


def test_sqlite_on_a_full_disk(small_filesystem, tmp_path):
    url = f'sqlite:///{small_filesystem}/state.sqlite'
    use_db(url, tmp_path)
    backend = make_backend('memory', tmp_path)
    kept = [backend.create_volume(1, name=f'v{n}') for n in range(3)]
    filler = fill(small_filesystem)
    # Enough writes to need new pages, whatever space was left.
    error = None
    for _ in range(200):
        try:
            backend.create_volume(1, description='x' * 20000)
        except exception.PersistenceUnavailable as refused:
            error = refused
            break
    assert error is not None, 'the full disk never refused a write'
    assert 'full' in error.reason
    assert error.resource.status == 'creating'
    assert not on_storage(backend, error.resource)
    os.unlink(filler)
    # The volume the refused write was about was not created; save it and
    # create it now that there is room.
    error.resource.create()
    assert {v.id for v in kept} < {v.id for v in backend.volumes}
    assert integrity(url) == 'ok'


def test_sqlite_on_a_read_only_filesystem(small_filesystem, tmp_path):
    url = f'sqlite:///{small_filesystem}/state.sqlite'
    plugin = use_db(url, tmp_path)
    backend = make_backend('memory', tmp_path)
    kept = backend.create_volume(1, name='kept')
    # Connections open now keep their open files: new ones see the change.
    plugin.engine.dispose()
    subprocess.run(['mount', '-o', 'remount,ro', str(small_filesystem)],
                   check=True)
    try:
        state = driver_state(backend)
        assert_refused(lambda: backend.create_volume(1), url)
        assert_refused(lambda: kept.extend(2), url)
        assert driver_state(backend) == state and kept.size == 1
    finally:
        subprocess.run(['mount', '-o', 'remount,rw', str(small_filesystem)],
                       check=True)
    kept.extend(2)
    backend.create_volume(1)
    assert len(backend.volumes) == 2
    assert integrity(url) == 'ok'
