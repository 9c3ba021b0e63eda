"""The ``db`` and ``memory_db`` persistence plugins (SQLAlchemy 2).

They store objects in cinderlib's own small schema (``schema.py``, managed
by Alembic migrations that run when the plugin starts), on any database
SQLAlchemy reaches: SQLite, PostgreSQL, MySQL/MariaDB.

Within a process, the plugin hands out the live object the library is
working on when one exists (an identity map), so updates drivers make
through the DB shim land on that object.  Across processes, every write is
one transaction, and a row's ``version`` detects a write made from an
outdated copy: it raises ``PersistenceConflict`` instead of undoing the
other write.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import logging
import os
import sqlite3
import stat
import threading
import time
import weakref
from importlib import import_module
from typing import Any, Iterator, Optional, cast
from urllib.parse import unquote, urlsplit

import sqlalchemy
from sqlalchemy import (BigInteger, Table, bindparam, event, exc as sa_exc,
                        literal_column, pool, select)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection as DBConnection

from cinderlib import _runtime
from cinderlib import exception
from cinderlib.cinder import config as cinder_config
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.objects import Connection, KeyValue, Snapshot, Volume
from cinderlib.objects import base as objects_base
from cinderlib.objects.base import Resource
from cinderlib.persistence import base
from cinderlib.persistence import legacy_rows
from cinderlib.persistence import migrations
from cinderlib.persistence import schema
from cinderlib.persistence.prepared import Prepared

LOG = logging.getLogger(__name__)

# Relationships not stored in an object's ``data``: in their own tables, or
# (a volume's type) in a column of its own.
_SKIP = {'volume': ('snapshots', 'volume_attachment', 'volume_type'),
         'snapshot': ('volume',), 'connection': ('volume',)}


_TABLES = {'volume': schema.volumes, 'snapshot': schema.snapshots,
           'connection': schema.connections}

# Raised when a write is based on an outdated copy (see the docstring).
PersistenceConflict = exception.PersistenceConflict


class DBPersistence(base.PersistenceDriverBase):
    """Objects in a SQL database given by an SQLAlchemy URL.

    :param connection: The database's SQLAlchemy URL:
        ``sqlite:////var/lib/app/cinderlib.sqlite``,
        ``postgresql+psycopg://user:password@host/db`` (install
        ``cinderlib[postgresql]``) or ``mysql+pymysql://user:password@host/db``
        (install ``cinderlib[mysql]``).  The schema is created or upgraded
        when the plugin starts.
    :param sqlite_synchronous: SQLite writes with ``synchronous=NORMAL``
        (a database file in WAL mode); ``False`` turns synchronous writes
        off: faster, but a crash of the machine may lose the last writes.
        Other databases ignore it.
    :param soft_deletes: Keep the rows of deleted objects, marked deleted,
        instead of removing them.
    :param pool_pre_ping: Test a pooled connection before using it, so
        that the first call after a database server restart works (about
        10% fewer operations per second on a local PostgreSQL); with
        ``False`` that call raises ``PersistenceUnavailable`` and the next
        one reconnects.  SQLite ignores it.
    """

    transactional = True

    def __init__(self, connection: str, sqlite_synchronous: bool = True,
                 soft_deletes: bool = False,
                 pool_pre_ping: bool = True) -> None:
        super().__init__()
        self.soft_deletes = bool(soft_deletes)
        self.engine = _create_engine(connection, sqlite_synchronous,
                                     bool(pool_pre_ping))
        self.url = _safe_url(self.engine.url)
        try:
            self._refuse_unmigrated_legacy()
            migrations.upgrade(self.engine)
        except exception.InvalidPersistence:
            raise
        except Exception as exc:
            raise exception.InvalidPersistence(
                f'cannot use database {self.url}: '
                f'{type(exc).__name__}: {_first_line(exc)}') from None
        self._reader: Optional[tuple[Any, Any]] = None
        self._lock = threading.RLock()
        # One SQLite connection in memory is shared: one user at a time.
        self._connection_lock = (
            threading.RLock() if _in_memory(self.engine.url)
            else contextlib.nullcontext())
        self._live = {kind: _LiveObjects() for kind in _SKIP}

    def _refuse_unmigrated_legacy(self) -> None:
        """Refuse, untouched, a database holding only the retired
        library's objects: shown empty, they would seem lost."""
        legacy_rows.refuse_unmigrated(self.engine, self.url)

    @contextlib.contextmanager
    def _connect(self, operation: str,
                 resource: Any = None) -> Iterator[Any]:
        """A connection for one read (one statement)."""
        with self._connection_lock:
            try:
                with self._reading_engine().connect() as conn:
                    yield conn
            except Exception as exc:
                self._raise_unavailable(exc, operation, resource)
                raise

    def _reading_engine(self) -> Any:
        """The engine of ``_connect``: reads are one statement each, on
        PostgreSQL without a transaction around it (no BEGIN and ROLLBACK
        round trips).  Made again when ``engine`` is replaced."""
        engine = self.engine
        cached: Optional[tuple[Any, Any]] = getattr(self, '_reader', None)
        if cached is None or cached[0] is not engine:
            reader = engine
            if engine.dialect.name == 'postgresql':
                reader = engine.execution_options(
                    isolation_level='AUTOCOMMIT')
            cached = self._reader = (engine, reader)
        return cached[1]

    @contextlib.contextmanager
    def _begin(self, operation: str, resource: Any = None) -> Iterator[Any]:
        """A connection in a transaction, committed on success."""
        with self._connection_lock:
            try:
                with self.engine.begin() as conn:
                    yield conn
            except Exception as exc:
                self._raise_unavailable(exc, operation, resource)
                raise

    def _raise_unavailable(self, exc: Exception, operation: str,
                           resource: Any) -> None:
        """Report the database being out of reach (a server down or
        restarting, a dropped connection, a read-only file, a full disk)
        as ``PersistenceUnavailable``, without the driver's traceback;
        other errors are left to the caller to raise."""
        if _unavailable(exc):
            raise exception.PersistenceUnavailable(
                self.url, operation, _reason(exc), resource) from None

    @contextlib.contextmanager
    def _saving(self, kind: str, obj: Any) -> Iterator[tuple[Any, '_Written']]:
        """A transaction writing ``obj``'s row: ``(conn, written)``,
        ``_write`` filling ``written``.  The object takes the row's new
        version only once committed; when the commit itself failed, the
        database may hold the row anyway, which the next save recognizes
        (``_write``)."""
        written = _Written()
        try:
            with self._begin(f'saving {kind} {obj.id}', obj) as conn:
                yield conn, written
        except exception.PersistenceUnavailable:
            if written.version is not None:
                self.object_slot(obj)['unconfirmed'] = (written.version,
                                                        written.data)
            raise
        self._confirmed(obj, written.version)

    def _confirmed(self, obj: Resource, version: Optional[int]) -> None:
        """``obj``'s row is at ``version``, committed."""
        slot = self.object_slot(obj)
        slot['version'] = version
        slot.pop('unconfirmed', None)

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.url}>'

    # -- queries --------------------------------------------------------------
    def get_volumes(self, volume_id: Optional[str] = None,
                    volume_name: Optional[str] = None,
                    backend_name: Optional[str] = None) -> list[Volume]:
        with _collection_paused():
            rows = self._select(schema.volumes, operation='listing volumes',
                                id=volume_id, name=volume_name,
                                backend_name=backend_name)
            return self._objects(Volume, rows)

    def get_snapshots(self, snapshot_id: Optional[str] = None,
                      snapshot_name: Optional[str] = None,
                      volume_id: Optional[str] = None) -> list[Snapshot]:
        with _collection_paused():
            rows = self._select(schema.snapshots,
                                operation='listing snapshots',
                                id=snapshot_id, name=snapshot_name,
                                volume_id=volume_id)
            return self._objects(Snapshot, rows)

    def get_connections(self, connection_id: Optional[str] = None,
                        volume_id: Optional[str] = None
                        ) -> list[Connection]:
        with _collection_paused():
            rows = self._select(schema.connections,
                                operation='listing connections',
                                id=connection_id, volume_id=volume_id)
            return self._objects(Connection, rows)

    def get_key_values(self, key: Optional[str] = None) -> list[KeyValue]:
        """The key-value of ``key``, or all of them when ``key`` is None or
        empty.  A row that is not text (written by hand, or by a version
        that did not check key-values) raises ``InvalidStoredData`` when
        asked for by its key, and is left out, with a warning, of the
        list of all."""
        table = schema.key_values
        query = table.select().order_by(table.c.key)
        if key:
            if not _storable(key):
                return []  # no row can have it
            query = query.where(table.c.key == key)
        with self._connect('listing key-values') as conn:
            rows = list(conn.execute(query))
        result = []
        for row in rows:
            reason = _bad_key_value(row)
            if reason is None:
                result.append(KeyValue(row.key, row.value))
            elif key:
                raise exception.InvalidStoredData('key_value', row.key,
                                                  reason)
            else:
                LOG.warning('Leaving out stored key-value %.60r: %s',
                            row.key, reason)
        return result

    def _select(self, table: Any, operation: str = 'reading',
                **filters: Any) -> list[tuple[Any, ...]]:
        """The rows of ``table`` matching every filter given exactly (None
        or empty means no filter), oldest first: tuples of the columns
        objects are rebuilt from (``_ROW_START``, the volume type's data,
        ``_FIELDS``), checked."""
        kind = _KINDS[table.name]
        filters = {column: value for column, value in filters.items()
                   if value}
        for value in filters.values():
            if not _storable(value):
                return []  # no row can hold it
        with self._connect(operation) as conn:
            rows = _query(table, tuple(filters), conn.dialect.name).all(
                conn, filters)
        valid_names = _valid_backend_names
        for row in rows:
            # What _check_row checks, the way every row written here
            # passes it (it explains a failure).
            object_id, backend_name, version, text, type_data = row[:5]
            if not (type(object_id) is str and object_id and
                    type(version) is int and type(text) is str and
                    backend_name in valid_names and (
                        type_data is None or type(type_data) is str)):
                _check_row(kind, row)
        return rows

    def _objects(self, cls: Any, rows: list[tuple[Any, ...]]) -> list[Any]:
        """The objects of checked rows: for each, the live object of its
        row, or a new one whose state is the row's (decoded, checked and
        rebuilt on first use, ``StoredState``).  Made in one loop, as a
        listing of 100,000 rows is mostly this."""
        if not rows:
            return []
        kind = cls.KIND
        live = self._live[kind]
        # One of each for every row: the Cinder object's rebuilder, the
        # backends.
        context = _runtime.context()
        # Metadata the row's data lacks is none, as load() takes it.
        complete = (cinder_ovo.complete_snapshot if kind == 'snapshot'
                    else cinder_ovo.complete_metadata)

        def rebuild(primitive: dict[str, Any]) -> Any:
            return complete(cinder_ovo.trusted_from_primitive(
                primitive, context, fill=True))
        backends: dict[str, Any] = {}
        field_names = tuple(_FIELDS[kind].values())
        expected = cls.OVO_NAME
        from_ovo = cls._from_ovo
        stored_state = objects_base.StoredState
        result = []
        with self._lock:
            find = live.get
            for row in rows:
                object_id, backend_name, version, text, type_data = row[:5]
                found = find(object_id)
                if found is not None and (
                        _version(found) == version or
                        _has_unsaved_changes(found)):
                    # Unsaved changes are never dropped for a newer row:
                    # the object's next save reports the conflict instead.
                    result.append(found)
                    continue
                backend = backends.get(backend_name)
                if backend is None:
                    backend = backends[backend_name] = (
                        _runtime.backend_or_placeholder(backend_name))
                obj = from_ovo(backend, stored_state(
                    object_id, text, rebuild, kind, expected,
                    dict(zip(field_names, row[5:])),
                    (('volume_type', type_data),)
                    if type_data is not None else ()))
                obj._plugin_slot['version'] = version
                if found is not None:  # changed by another process
                    found._adopt_state(obj)
                    found._plugin_slot['version'] = version
                    obj = found
                else:
                    live[object_id] = obj
                result.append(obj)
        return result

    # -- writes ---------------------------------------------------------------
    def set_volume(self, volume: Volume) -> None:
        with self._saving('volume', volume) as (conn, written):
            self._store_volume(conn, volume, written)
        self._remember('volume', volume)
        super().set_volume(volume)

    def set_snapshot(self, snapshot: Snapshot) -> None:
        with self._saving('snapshot', snapshot) as (conn, written):
            self._store_snapshot(conn, snapshot, written)
        self._remember('snapshot', snapshot)
        super().set_snapshot(snapshot)

    def set_connection(self, connection: Connection) -> None:
        with self._saving('connection', connection) as (conn, written):
            self._store_connection(conn, connection, written)
        self._remember('connection', connection)
        super().set_connection(connection)

    def set_objects(self, objects: list[Any]) -> None:
        """Every object in one transaction: all stored, or none."""
        kinds = [base.object_kind(obj) for obj in objects]
        writes = [_Written() for _ in objects]
        with self._begin(f'saving {len(objects)} objects') as conn:
            for kind, obj, written in zip(kinds, objects, writes):
                getattr(self, f'_store_{kind}')(conn, obj, written)
        # Committed: the objects take their rows' versions.
        for kind, obj, written in zip(kinds, objects, writes):
            self._confirmed(obj, written.version)
            self._remember(kind, obj)
            getattr(base.PersistenceDriverBase, f'set_{kind}')(self, obj)

    def _store_volume(self, conn: Any, volume: Any,
                      written: '_Written') -> None:
        ovo = volume._ovo
        values = {'name': ovo.display_name,
                  'backend_name': volume.backend_name, 'status': ovo.status}
        # The type in every write (9 us to serialize): whatever changed
        # it (a copy loaded with load(save=True), extra specs changed in
        # place), the row holds the volume's type.  One not set is not
        # loaded (a lazy load through this plugin): the row keeps its own.
        if ovo.obj_attr_is_set('volume_type'):
            volume_type = ovo.volume_type
            values['type_data'] = (
                None if volume_type is None
                else cinder_ovo.to_primitive_text(volume_type))
        self._write(conn, 'volume', schema.volumes, volume, values, written)

    def _store_snapshot(self, conn: Any, snapshot: Any,
                        written: '_Written') -> None:
        ovo = snapshot._ovo
        values = {'name': ovo.display_name, 'volume_id': ovo.volume_id,
                  'status': ovo.status,
                  'backend_name': snapshot.backend_name}
        self._write(conn, 'snapshot', schema.snapshots, snapshot, values,
                    written)

    def _store_connection(self, conn: Any, connection: Any,
                          written: '_Written') -> None:
        ovo = connection._ovo
        values = {'volume_id': ovo.volume_id,
                  'attached_host': ovo.attached_host,
                  'status': ovo.attach_status,
                  'backend_name': connection.backend_name}
        self._write(conn, 'connection', schema.connections, connection,
                    values, written)

    def set_key_value(self, key_value: KeyValue) -> None:
        values = {'key': key_value.key, 'value': key_value.value}
        with self._begin(f'saving key-value {key_value.key}',
                         key_value) as conn:
            upsert = _key_value_upsert(conn.dialect.name)
            if upsert is not None:
                conn.execute(upsert, values)
            else:  # other databases: not atomic against a concurrent add
                table = schema.key_values
                if not conn.execute(table.update().where(
                        table.c.key == key_value.key).values(
                            value=key_value.value)).rowcount:
                    conn.execute(table.insert(), values)
        super().set_key_value(key_value)

    def _write(self, conn: Any, kind: str, table: Any, obj: Any,
               values: dict[str, Any], written: '_Written') -> None:
        """Insert or update ``obj``'s row, telling ``written`` the row's
        new version and data."""
        ovo = obj._ovo
        written.data = cinder_ovo.to_primitive_text(ovo, _SKIP[kind])
        values = dict(values, created_at=_naive(ovo.created_at),
                      deleted=False, deleted_at=None, data=written.data)
        statements = _statements(table)
        version = _version(obj)
        if version is None:
            # A copy that never read the row: a new object, or one loaded
            # with load(save=True).  Inserted if no row has its id (one
            # statement for a new object), else it updates the row.
            insert_new = _insert_if_absent(table, conn.dialect.name)
            if insert_new is not None and insert_new.rowcount(conn, dict(
                    values, id=obj.id, version=1)):
                written.version = 1
                return
            row = statements['version'].first(conn, {'b_id': obj.id})
            version = row[0] if row is not None else None
        elif self._committed_unconfirmed(conn, statements, obj):
            version = self.object_slot(obj)['unconfirmed'][0]
        if version is not None:
            if statements['update'].rowcount(conn, dict(
                    values, b_id=obj.id, b_version=version,
                    version=version + 1)):
                written.version = version + 1
                return
            if statements['version'].first(
                    conn, {'b_id': obj.id}) is not None:
                raise PersistenceConflict(kind, obj.id)
        statements['insert'].rowcount(conn, dict(values, id=obj.id,
                                                 version=1))
        written.version = 1

    @staticmethod
    def _committed_unconfirmed(conn: Any, statements: dict[str, Any],
                               obj: Any) -> bool:
        """Whether the row is this object's last write whose commit
        reported an error (the connection dropped while committing) but
        which the database did commit."""
        unconfirmed = _slot(obj).get('unconfirmed')
        if unconfirmed is None:
            return False
        row = statements['current'].first(conn, {'b_id': obj.id})
        return row is not None and tuple(row) == unconfirmed

    shared = True

    def refresh_stale(self, obj: Resource) -> bool:
        super().refresh_stale(obj)  # the copy drivers get
        version = _version(obj)
        if version is None:  # never stored, or stored by another copy
            return True
        kind = obj.KIND
        table = _TABLES[kind]
        with self._connect(f'reading {kind} {obj.id}', obj) as conn:
            row = _statements(table)['state'].first(conn, {'b_id': obj.id})
        if row is not None and row[0] == version:  # (version, deleted)
            return not row[1]
        if _has_unsaved_changes(obj):
            return True  # their save reports the conflict
        if row is None or row[1]:
            self._forget(kind, obj)
            return False
        getter = getattr(self, f'get_{kind}s')
        found = getter(**{f'{kind}_id': obj.id})
        if found and found[0] is not obj:
            obj._adopt_state(found[0])
            self.object_slot(obj)['version'] = _version(found[0])
        return bool(found)

    def _remember(self, kind: str, obj: Resource) -> None:
        with self._lock:
            self._live[kind][obj.id] = obj

    # -- deletions ------------------------------------------------------------
    def delete_volume(self, volume: Volume) -> None:
        with self._begin(f'deleting volume {volume.id}', volume) as conn:
            self._delete(conn, schema.volumes, volume)
        self._forget('volume', volume)
        super().delete_volume(volume)

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        with self._begin(f'deleting snapshot {snapshot.id}',
                         snapshot) as conn:
            self._delete(conn, schema.snapshots, snapshot)
        self._forget('snapshot', snapshot)
        super().delete_snapshot(snapshot)

    def delete_connection(self, connection: Connection) -> None:
        with self._begin(f'deleting connection {connection.id}',
                         connection) as conn:
            self._delete(conn, schema.connections, connection)
        self._forget('connection', connection)
        super().delete_connection(connection)

    def delete_key_value(self, key_value: KeyValue) -> None:
        table = schema.key_values
        if not _storable(key_value.key):
            return  # no row can have it
        with self._begin(f'deleting key-value {key_value.key}',
                         key_value) as conn:
            conn.execute(table.delete().where(table.c.key == key_value.key))
        super().delete_key_value(key_value)

    def _delete(self, conn: DBConnection, table: Table,
                obj: Resource) -> None:
        query = table.c.id == obj.id
        if self.soft_deletes:
            conn.execute(table.update().where(query).values(
                deleted=True, deleted_at=_naive(cinder_ovo.utcnow()),
                version=table.c.version + 1))
        else:
            conn.execute(table.delete().where(query))

    def _forget(self, kind: str, obj: Resource) -> None:
        with self._lock:
            if self._live[kind].get(obj.id) is obj:
                del self._live[kind][obj.id]


class _LiveObjects:
    """The live objects of one kind by id, held weakly (an identity map
    of ``DBPersistence``, used under its lock).  Cheaper than a
    ``WeakValueDictionary`` (no callback per object, which listing
    100,000 rows felt): ids of objects gone are dropped in bulk once the
    map has doubled since the last time."""

    __slots__ = ('_refs', '_purge_at')

    _MIN_PURGE = 1024

    def __init__(self) -> None:
        self._refs: dict[str, weakref.ref[Any]] = {}
        self._purge_at = self._MIN_PURGE

    def get(self, object_id: str) -> Any:
        ref = self._refs.get(object_id)
        return None if ref is None else ref()

    def __setitem__(self, object_id: str, obj: Any) -> None:
        refs = self._refs
        refs[object_id] = weakref.ref(obj)
        if len(refs) >= self._purge_at:
            self._refs = {key: ref for key, ref in refs.items()
                          if ref() is not None}
            self._purge_at = max(self._MIN_PURGE, 2 * len(self._refs))

    def __delitem__(self, object_id: str) -> None:
        del self._refs[object_id]

    def clear(self) -> None:
        self._refs.clear()


class _Written:
    """What a write put in a row: its new version and data."""

    __slots__ = ('version', 'data')

    def __init__(self) -> None:
        self.version: Optional[int] = None
        self.data: Optional[str] = None


class MemoryDBPersistence(DBPersistence):
    """The ``db`` plugin on an in-memory SQLite database: objects live as
    long as the process."""

    shared = False

    def __init__(self, sqlite_synchronous: bool = True,
                 soft_deletes: bool = False) -> None:
        super().__init__(connection='sqlite://',
                         sqlite_synchronous=sqlite_synchronous,
                         soft_deletes=soft_deletes)


def _create_engine(url: Any, sqlite_synchronous: bool,
                   pool_pre_ping: bool = True) -> Any:
    if not isinstance(url, str) or not url:
        # Not the value: it may be a URL with a password in another type.
        raise exception.InvalidPersistence(
            f'connection must be an SQLAlchemy URL string, got '
            f'{"an empty string" if url == "" else type(url).__name__}')
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sa_exc.ArgumentError:
        raise exception.InvalidPersistence(
            'connection is not an SQLAlchemy URL') from None
    except ValueError:  # int() of the port; its text may hold a secret
        raise exception.InvalidPersistence(
            'connection is not a valid SQLAlchemy URL: its port is not a '
            'number') from None
    safe = _safe_url(parsed)
    if parsed.get_backend_name() == 'sqlite':
        _prepare_sqlite_file(parsed)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == 'sqlite':
        options['connect_args'] = {'check_same_thread': False}
        if _in_memory(parsed):
            options['poolclass'] = pool.StaticPool
    else:
        # A pooled connection is tested before use (one round trip), so
        # that the first call after a server restart or a dropped
        # connection reconnects instead of failing.  Without it, that call
        # fails, and the error makes SQLAlchemy replace every connection
        # of the pool for the next one.
        options['pool_pre_ping'] = pool_pre_ping
        options['pool_recycle'] = 3600
        if (parsed.get_backend_name() == 'postgresql' and
                'connect_timeout' not in parsed.query):
            # libpq waits forever for an unreachable host by default.
            options['connect_args'] = {'connect_timeout': CONNECT_TIMEOUT}
    try:
        engine = sqlalchemy.create_engine(parsed, **options)
    except Exception as exc:  # unknown dialect, missing DB driver...
        raise exception.InvalidPersistence(
            f'cannot use database {safe}: {type(exc).__name__}: '
            f'{_first_line(exc)}') from None
    if parsed.get_backend_name() == 'sqlite':
        synchronous = 'NORMAL' if sqlite_synchronous else 'OFF'

        @event.listens_for(engine, 'connect')
        def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # First: switching to WAL waits for a process that holds the
            # database (e.g. creating the schema) as long as any statement.
            cursor.execute(f'PRAGMA busy_timeout={SQLITE_BUSY_MS}')
            if not _in_memory(parsed):
                _switch_to_wal(cursor)
            cursor.execute(f'PRAGMA synchronous={synchronous}')
            cursor.close()
    return engine


# How long an SQLite statement waits for another connection's lock.
SQLITE_BUSY_MS = 30000


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, tried again while another connection
    holds the database: SQLite may refuse the switch at once ("database
    is locked") without waiting as ``busy_timeout`` says, e.g. while
    connections opened together on a new file set it up (1 start of 200
    with six threads failed so)."""
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    delay = 0.001
    while True:
        try:
            cursor.execute('PRAGMA journal_mode=WAL')
            return
        except sqlite3.OperationalError as exc:
            if 'locked' not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _safe_url(parsed: Any) -> str:
    """The URL with its password, and query parameters named like secrets
    (``?password=``), masked."""
    return exception._without_password(
        parsed.render_as_string(hide_password=True))


# What SQLite creates next to a database file: journals and the WAL index.
_SQLITE_COMPANIONS = ('-wal', '-shm', '-journal')


def _prepare_sqlite_file(parsed: Any) -> None:
    """Create a new SQLite database file private (0600) before SQLite does
    (SQLite would make it 0644 and give its -wal and -shm files the same
    mode), and refuse symbolic links where SQLite creates files: someone
    who can write to the directory could make the process create or
    overwrite a file elsewhere."""
    target = _sqlite_path(parsed)
    if target is None:
        return
    path, may_create = target
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not may_create:
            return  # SQLite reports it
        info = _create_private_file(path)
    if stat.S_ISLNK(info.st_mode):
        raise exception.InvalidPersistence(
            f'SQLite database {path} is a symbolic link; give the path of '
            f'the database file itself')
    if not stat.S_ISREG(info.st_mode):
        raise exception.InvalidPersistence(
            f'SQLite database {path} is not a regular file')
    if info.st_mode & stat.S_IROTH:
        LOG.warning('SQLite database %s is readable by every user (mode '
                    '%o) and may hold connection credentials: chmod 600 it',
                    path, stat.S_IMODE(info.st_mode))
    for suffix in _SQLITE_COMPANIONS:
        if os.path.islink(path + suffix):
            raise exception.InvalidPersistence(
                f'{path + suffix}, where SQLite keeps the journal of '
                f'{path}, is a symbolic link; remove it')


def _sqlite_path(parsed: Any) -> Optional[tuple[str, bool]]:
    """``(path, may_create)`` of an SQLite database file, None in memory."""
    database = parsed.database or ''
    if str(parsed.query.get('uri', '')).lower() not in ('true', '1'):
        if database in ('', ':memory:'):
            return None
        return os.path.abspath(database), True
    # An SQLite URI filename (file:path), its parameters in the query.
    mode = parsed.query.get('mode', 'rwc')
    path = unquote(urlsplit(database).path)
    if mode == 'memory' or path in ('', ':memory:'):
        return None
    return os.path.abspath(path), mode == 'rwc'


def _create_private_file(path: str) -> os.stat_result:
    """Create the empty file ``path``, mode 0600; never through a symbolic
    link (``O_EXCL``).  Returns its ``lstat``, or that of what another
    process created there first."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                     os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return os.lstat(path)
    except OSError as exc:
        raise exception.InvalidPersistence(
            f'cannot create SQLite database {path}: {exc.strerror}') from None
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


_statement_cache: dict[str | tuple[str, str], Any] = {}

# Seconds to wait for a PostgreSQL server to accept a connection (MySQL
# drivers have their own default, 10 s).
CONNECT_TIMEOUT = 10
# SQLSTATE of a write refused by a read-only server (a standby).
_READ_ONLY_SQLSTATES = frozenset(('25006',))


def _unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be used right now rather
    than a fault in the statement: the DB-API's OperationalError and
    InterfaceError (server down, connection lost, read-only file, full
    disk, lock timeout), an invalidated connection, an exhausted pool or
    a read-only server."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError,
                        sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return bool(exc.connection_invalidated or getattr(
            exc.orig, 'sqlstate', None) in _READ_ONLY_SQLSTATES)
    return False


def _reason(exc: BaseException) -> str:
    """The database driver's error, on one line (SQLAlchemy's own text
    adds the statement, its parameters and a link)."""
    original = getattr(exc, 'orig', None) or exc
    text = ' '.join(str(original).split()) or 'no message'
    return f'{type(original).__name__}: {text}'


def _statements(table: Table) -> dict[str, Prepared]:
    """The statements of every write and of ``refresh_stale``, for a
    table (built once, compiled once per database: ``prepared.py``).
    Their rows are untyped: ``state``'s ``deleted`` is only tested."""
    statements = _statement_cache.get(table.name)
    if statements is None:
        built: dict[str, Any] = {'insert': table.insert()}
        if 'version' in table.c:
            row_id = table.c.id == bindparam('b_id')
            built['update'] = table.update().where(
                row_id, table.c.version == bindparam('b_version'))
            built['version'] = table.select().with_only_columns(
                table.c.version).where(row_id)
            built['current'] = table.select().with_only_columns(
                table.c.version, table.c.data).where(row_id)
            built['state'] = table.select().with_only_columns(
                table.c.version, table.c.deleted).where(row_id)
        statements = {name: Prepared(statement)
                      for name, statement in built.items()}
        _statement_cache[table.name] = statements
    return cast('dict[str, Prepared]', statements)


def _query(table: Table, filtered: tuple[str, ...],
           dialect: str) -> Prepared:
    """The SELECT of ``_select``: its filters are bound parameters named
    after their columns (built once per table, filter set and kind of
    database)."""
    key = (table.name, filtered, dialect)
    query = _query_cache.get(key)
    if query is None:
        kind = _KINDS[table.name]
        # A volume's type is in its row: one table read, in the order of
        # the backend's listing index (a subquery per row into a table of
        # types took half of the query's time on PostgreSQL, a join had
        # it sort every row with its data).
        type_data: Any = (table.c.type_data if kind == 'volume'
                          else sqlalchemy.null())
        columns = [table.c[name] for name in _ROW_START] + [
            type_data.label('type_data')] + [
                table.c[name] for name in _FIELDS[kind]]
        statement = select(*columns).where(
            table.c.deleted.is_(False), *(
                table.c[column] == bindparam(column) for column in filtered)
        ).order_by(table.c.created_at, table.c.id)
        if dialect == 'postgresql':
            # No limit (2**63 - 1 rows), given by a subquery: the planner
            # does not know it, so it expects a tenth of the rows to be
            # read and prefers a plan that returns them early, in the
            # order of the listing index, to one that sorts them all.
            # Tables not analyzed yet (after a bulk creation) made it
            # expect a few rows and sort them all, with their data, on
            # disk: the query of 50,000 volumes took 0.66 s, 0.36 s now.
            # Its cost then also stays under PostgreSQL's JIT threshold.
            statement = statement.limit(select(_NO_LIMIT).scalar_subquery())
        query = Prepared(statement)
        _query_cache[key] = query
    return query


_query_cache: dict[tuple[str, tuple[str, ...], str], Prepared] = {}
# Written in the SQL, not a bound parameter: the statement's only
# parameters are its filters (Prepared).
_NO_LIMIT = literal_column(str(2 ** 63 - 1), BigInteger)


def _insert_if_absent(table: Table, dialect: str) -> Any:
    """An INSERT that does nothing (its rowcount 0) when a row has the
    id; None where the database has none that touches nothing else
    (MySQL's INSERT IGNORE also drops errors such as a too long value)."""
    key = (table.name, dialect)
    statement = _statement_cache.get(key)
    if statement is None and dialect in ('sqlite', 'postgresql'):
        insert = import_module(f'sqlalchemy.dialects.{dialect}').insert
        statement = _statement_cache[key] = Prepared(insert(
            table).on_conflict_do_nothing(index_elements=[table.c.id]))
    return statement


def _slot(obj: Resource) -> dict[str, Any]:
    """What this plugin keeps about ``obj``: ``'version'``, the version of
    its row last read or written (None or missing: never read, e.g. loaded
    with ``load(save=True)``), and ``'unconfirmed'``, the version and data
    of a write whose commit reported an error."""
    return base.PersistenceDriverBase.object_slot(obj)


def _version(obj: Resource) -> Optional[int]:
    version: Optional[int] = _slot(obj).get('version')
    return version


def _has_unsaved_changes(obj: Any) -> bool:
    return '_ovo' in vars(obj) and bool(cinder_ovo.changed_fields(obj._ovo))


def _in_memory(url: Any) -> bool:
    return url.get_backend_name() == 'sqlite' and url.database in (
        None, '', ':memory:')


def _key_value_upsert(dialect: str) -> Any:
    """One atomic INSERT-or-UPDATE of a key-value (an UPDATE then INSERT
    fails when two writers add the same new key at once); None where the
    database has no such statement."""
    statement = _statement_cache.get(('upsert', dialect))
    if statement is None:
        table = schema.key_values
        if dialect in ('sqlite', 'postgresql'):
            insert = import_module(f'sqlalchemy.dialects.{dialect}').insert
            statement = insert(table)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={'value': statement.excluded.value})
        elif dialect in ('mysql', 'mariadb'):
            statement = mysql.insert(table)
            statement = statement.on_duplicate_key_update(
                value=statement.inserted.value)
        else:
            return None
        _statement_cache[('upsert', dialect)] = statement
    return statement


def _storable(value: Any) -> bool:
    """Whether a column of text may hold ``value`` (PostgreSQL refuses
    NUL characters, every database lone surrogates)."""
    if not isinstance(value, str) or '\x00' in value:
        return False
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def _bad_key_value(row: Any) -> Optional[str]:
    """Why a key-value row cannot be read back, or None."""
    for name in ('key', 'value'):
        if not isinstance(getattr(row, name), str):
            return f'its {name} is not text: {getattr(row, name)!r:.60}'
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [''])[0]


def _naive(value: Optional[datetime.datetime]) -> Optional[datetime.datetime]:
    """Datetimes are stored as naive UTC (portable across databases)."""
    if value is not None and value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc)
        value = value.replace(tzinfo=None)
    return value


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """No garbage collection while the objects of a listing are made
    (rows, then objects, none of them garbage): with 100,000 rows,
    Python's full collections they triggered were a third of the listing.
    The next collection after it finds whatever needs one."""
    if not gc.isenabled():  # off, or another listing paused it
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# The first columns of every row _select returns, then the volume type's
# data (NULL for other kinds), then those of _FIELDS.
_ROW_START = ('id', 'backend_name', 'version', 'data')
_KINDS = {schema.volumes.name: 'volume', schema.snapshots.name: 'snapshot',
          schema.connections.name: 'connection'}
# The columns that copy a field of the data (queries filter on them), by
# kind: {column: field}.
_FIELDS = {'volume': {'name': 'display_name', 'status': 'status'},
           'snapshot': {'name': 'display_name', 'status': 'status',
                        'volume_id': 'volume_id'},
           'connection': {'volume_id': 'volume_id',
                          'attached_host': 'attached_host',
                          'status': 'attach_status'}}


def _check_row(kind: str, row: tuple[Any, ...]) -> None:
    """Refuse a row of ``_select`` whose columns do not hold what this
    plugin writes (databases such as SQLite store any type in any
    column).  Its data is checked when the object is first used."""
    object_id, backend_name, version, data, type_data = row[:5]
    reason = None
    if not isinstance(object_id, str) or not object_id:
        reason = 'its id is not a string'
    elif isinstance(version, bool) or not isinstance(version, int):
        reason = f'its version is not an integer: {version!r:.60}'
    elif not isinstance(data, str):
        reason = 'its data is not text'
    elif type_data is not None and not isinstance(type_data, str):
        reason = 'the data of its volume type is not text'
    elif backend_name not in _valid_backend_names:
        try:
            cinder_config.check_backend_name(backend_name)
        except exception.CinderlibError as exc:
            reason = f'its backend name is invalid: {exc}'
        else:
            _valid_backend_names.add(backend_name)
    if reason is not None:
        raise exception.InvalidStoredData(kind, object_id, reason)


# Backend names of rows found valid (checking each row's costs more).
_valid_backend_names: set[str] = set()
