"""The rows of a retired-library database, made into this library's objects.

The retired cinderlib's ``db`` plugin wrote Cinder's own schema (see
``legacy.py``).  ``LegacyRows.read`` reads the tables it wrote to, as
they are in that database (their columns differ a little between Cinder
releases); ``convert`` builds from the live rows the ``Volume``,
``Snapshot``, ``Connection`` and ``KeyValue`` objects this library would
have created, checked as this library checks what it reads back.  Rows
that cannot be converted are listed with the reason.

How rows become objects:

- a volume gets a volume type of its own, of its id, as every volume of
  this library does: with the extra specs and QoS specs of its retired
  type, or with none for Cinder's ``__DEFAULT__`` type;
- QoS specs are those the type links to (``qos_specs_id``), or those the
  retired library named after the type's volume without linking them;
- a snapshot's ``progress``, where the retired library kept the backend's
  name, is ``100%`` once available, as this library sets it;
- a connection's ``connection_info`` and ``connector`` are decoded from
  their JSON text; ``attach_status``, ``attached_host`` and
  ``attach_mode``, which the retired library left null, are filled as
  this library fills them on ``connect()`` (``attached``, the
  connector's host, the export's access mode); its volume is
  ``attach_status`` ``attached``;
- rows marked deleted are left out, and so are snapshots and
  connections of volumes that are.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import logging
from typing import Any, Iterator, Optional, cast

import sqlalchemy

from cinderlib import _runtime
from cinderlib import exception
from cinderlib._runtime import DEFAULT_PROJECT_ID, DEFAULT_USER_ID
from cinderlib.cinder import config as cinder_config
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.cinder import primitives
from cinderlib.objects import Connection, KeyValue, Snapshot, Volume
from cinderlib.persistence import schema
from cinderlib.states import AttachStatus, Status

LOG = logging.getLogger(__name__)

KINDS = ('volume', 'snapshot', 'connection', 'key_value')
COMMAND = 'cinderlib migrate-db'
# This library's tables that hold objects, by kind.
_OUR_TABLES = {'volume': schema.volumes, 'snapshot': schema.snapshots,
               'connection': schema.connections,
               'key_value': schema.key_values}
KEY_VALUE_TABLE = 'cinderlib_persistence_key_value'
# The volume type Cinder creates; the retired library gave it to volumes
# created without extra specs or QoS specs.
DEFAULT_TYPE_NAME = '__DEFAULT__'
# Every table of Cinder's schema the retired library wrote to.
LEGACY_TABLES = (
    'volumes', 'volume_metadata', 'volume_admin_metadata',
    'volume_glance_metadata', 'volume_types', 'volume_type_extra_specs',
    'quality_of_service_specs', 'snapshots', 'snapshot_metadata',
    'volume_attachment', KEY_VALUE_TABLE)
# The table of each kind of object.
OBJECT_TABLES = {'volume': 'volumes', 'snapshot': 'snapshots',
                 'connection': 'volume_attachment',
                 'key_value': KEY_VALUE_TABLE}
_QOS_NAME_KEY = 'QoS_Specs_Name'  # Cinder's key of a QoS specs' name row


@dataclasses.dataclass(frozen=True)
class Entry:
    """An object of the source named in a report, and why."""

    kind: str
    id: str
    reason: str


class LegacyRows:
    """The rows of the retired library's tables: the live ones, and how
    many are marked deleted (``deleted``, by kind)."""

    def __init__(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.deleted = {kind: sum(1 for row in tables.get(table, ())
                                  if row.get('deleted'))
                        for kind, table in OBJECT_TABLES.items()}
        live = {name: [row for row in rows if not row.get('deleted')]
                for name, rows in tables.items()}
        self.volumes = live.get('volumes', [])
        self.snapshots = live.get('snapshots', [])
        self.connections = live.get('volume_attachment', [])
        self.key_values = live.get(KEY_VALUE_TABLE, [])
        self.deleted_volumes = {row['id'] for row in tables.get('volumes', [])
                                if row.get('deleted')}
        self.types = {row['id']: row for row in live.get('volume_types', [])}
        self.qos = {row['id']: row for row in
                    live.get('quality_of_service_specs', [])}
        self.metadata = {name: _by(live.get(name, []), key) for name, key in (
            ('volume_metadata', 'volume_id'),
            ('volume_admin_metadata', 'volume_id'),
            ('volume_glance_metadata', 'volume_id'),
            ('snapshot_metadata', 'snapshot_id'),
            ('volume_type_extra_specs', 'volume_type_id'),
            ('quality_of_service_specs', 'specs_id'))}

    @classmethod
    def read(cls, conn: Any) -> Optional['LegacyRows']:
        """The rows of the database ``conn`` is connected to; None if it
        holds none of the retired library's tables."""
        names = set(sqlalchemy.inspect(conn).get_table_names())
        if not retired_tables(conn):
            return None
        return cls({name: _rows(conn, name) for name in LEGACY_TABLES
                    if name in names})

    def pairs(self, table: str, owner: Any) -> dict[str, Any]:
        """The key-value rows of ``table`` that belong to ``owner``."""
        return {row['key']: row['value']
                for row in self.metadata[table].get(owner, ())}

    def qos_root(self, type_row: dict[str, Any]) -> Optional[dict[str, Any]]:
        """The QoS specs of a volume type: those it links to, or (the
        retired library did not link them) those named after the type
        that the retired library made for one volume."""
        if type_row.get('qos_specs_id'):
            return self.qos.get(type_row['qos_specs_id'])
        for row in self.qos.values():
            if (row.get('specs_id') is None and
                    row.get('key') == _QOS_NAME_KEY and
                    row.get('value') == type_row['id']):
                return row
        return None


def retired_tables(conn: Any) -> list[str]:
    """Which of ``volumes`` (Cinder's) and the retired library's key-value
    table the database holds: tables of those names with other columns
    belong to something else."""
    inspector = sqlalchemy.inspect(conn)
    found = []
    for name, columns in _MARKER_TABLES.items():
        if inspector.has_table(name) and columns <= {
                column['name'] for column in inspector.get_columns(name)}:
            found.append(name)
    return found


# The columns that tell the retired library's tables.
_MARKER_TABLES = {
    'volumes': {'id', 'host', 'size', 'status', 'volume_type_id',
                'deleted'},
    KEY_VALUE_TABLE: {'key', 'value'}}


def _by(rows: list[dict[str, Any]],
        key: str) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in rows:
        grouped[row.get(key)].append(row)
    return grouped


def _rows(conn: Any, name: str) -> list[dict[str, Any]]:
    """Every row of a table, as it is in this database (the columns of
    Cinder's schema differ a little between releases), in a stable order
    (reports list objects in it)."""
    table = sqlalchemy.Table(name, sqlalchemy.MetaData(), autoload_with=conn)
    return [dict(row._mapping) for row in conn.execute(
        table.select().order_by(*table.primary_key.columns))]


class _Refused(Exception):
    """A row that cannot be imported, and why."""


class Converted:
    """The objects made from the source's rows, by kind, with the
    notes each one carries and the rows that could not be converted."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self.notes: dict[tuple[str, str], list[str]] = (
            collections.defaultdict(list))
        self.refused: list[Entry] = []
        self.skipped: list[Entry] = []


def convert(rows: LegacyRows) -> Converted:
    """This library's objects made from the live rows."""
    return _Converter(rows).convert()


class _Converter:
    """Builds this library's objects from the retired library's rows, as
    this library would have created them."""

    def __init__(self, legacy: LegacyRows) -> None:

        self.legacy = legacy
        self.ovos = cinder_ovo.objects_module()
        self.context = cinder_config.make_context(DEFAULT_USER_ID,
                                                  DEFAULT_PROJECT_ID)
        self.result = Converted()

    def convert(self) -> Converted:
        for kind, rows, build in (
                ('volume', self.legacy.volumes, self._volume),
                ('snapshot', self.legacy.snapshots, self._snapshot),
                ('connection', self.legacy.connections, self._connection),
                ('key_value', self.legacy.key_values, self._key_value)):
            for row in rows:
                object_id = str(row.get('key' if kind == 'key_value'
                                        else 'id'))
                try:
                    obj = build(row, object_id)
                except _Refused as exc:
                    self.result.refused.append(Entry(kind, object_id,
                                                     str(exc)))
                    continue
                except _Orphan as exc:
                    self.result.skipped.append(Entry(kind, object_id,
                                                     str(exc)))
                    continue
                self.result.objects[kind][object_id] = obj
        self._mark_attached()
        return self.result

    def _note(self, kind: str, object_id: str, text: str) -> None:
        self.result.notes[(kind, object_id)].append(text)

    # -- volumes --------------------------------------------------------------
    def _volume(self, row: dict[str, Any], volume_id: str) -> Volume:
        backend = _backend_of(row.get('host'))
        values = self._fields(row, self.ovos.Volume)
        values.update(
            volume_type_id=volume_id,
            volume_type=self._volume_type(row, volume_id),
            metadata=self.legacy.pairs('volume_metadata', volume_id),
            admin_metadata=self.legacy.pairs('volume_admin_metadata',
                                             volume_id),
            glance_metadata=self.legacy.pairs('volume_glance_metadata',
                                              volume_id))
        with _refusing('its row'):
            ovo = cinder_ovo.new_volume(self.context, **values)
        _check(ovo, 'Volume', ())
        return Volume._from_ovo(backend, ovo)

    def _volume_type(self, row: dict[str, Any], volume_id: str) -> Any:
        """The volume's own type, as this library gives every volume: the
        retired type's extra specs and QoS specs, or none for Cinder's
        default type."""
        type_row = self.legacy.types.get(row.get('volume_type_id'))
        extra_specs: dict[str, Any] = {}
        qos: Optional[tuple[str, dict[str, Any]]] = None
        created_at, updated_at = row.get('created_at'), None
        if type_row is None:
            if row.get('volume_type_id'):
                self._note('volume', volume_id,
                           f'its volume type {row["volume_type_id"]} is '
                           f'missing: imported without extra specs')
        elif type_row.get('name') != DEFAULT_TYPE_NAME:
            extra_specs = self.legacy.pairs('volume_type_extra_specs',
                                            type_row['id'])
            qos = self._qos(type_row, volume_id)
            created_at = type_row.get('created_at')
            updated_at = type_row.get('updated_at')
        with _refusing('its volume type'):
            volume_type = cinder_ovo.new_volume_type(
                self.context, volume_id, extra_specs, qos and qos[1])
            volume_type.created_at = created_at
            volume_type.updated_at = updated_at
            if volume_type.qos_specs is not None and qos:
                volume_type.qos_specs.consumer = qos[0]
        cinder_ovo.reset_changes(volume_type)
        return volume_type

    def _qos(self, type_row: dict[str, Any],
             volume_id: str) -> Optional[tuple[str, dict[str, Any]]]:
        """(consumer, specs) of a volume type's QoS specs, or None."""
        root = self.legacy.qos_root(type_row)
        if root is None:
            if type_row.get('qos_specs_id'):
                self._note('volume', volume_id,
                           f'its QoS specs {type_row["qos_specs_id"]} are '
                           f'missing: imported without QoS specs')
            return None
        specs = self.legacy.pairs('quality_of_service_specs', root['id'])
        consumer = specs.pop('consumer', None) or 'back-end'
        if not specs:
            self._note('volume', volume_id,
                       f'its QoS specs {root["id"]} hold no values: '
                       f'imported without QoS specs')
            return None
        return consumer, specs

    def _fields(self, row: dict[str, Any], ovo_class: Any) -> dict[str, Any]:
        """The row's columns that are plain fields of ``ovo_class``; the
        rest (relationships, metadata) the caller builds."""
        plain = cinder_ovo.plain_fields(ovo_class)
        # A null in a column whose field takes none (``use_quota``, which
        # older releases left null) gets the field's default.
        values = {name: row[name] for name, field in ovo_class.fields.items()
                  if name in row and name not in _NOT_COPIED and
                  name in plain and (row[name] is not None or field.nullable)}
        values['deleted'] = False
        return values

    # -- snapshots and connections --------------------------------------------
    def _parent(self, row: dict[str, Any]) -> Volume:
        volume_id = row.get('volume_id')
        volume = self.result.objects['volume'].get(str(volume_id))
        if volume is not None:
            return cast('Volume', volume)
        if volume_id in self.legacy.deleted_volumes:
            raise _Orphan(f'its volume {volume_id} is deleted')
        if any(entry.kind == 'volume' and entry.id == volume_id
               for entry in self.result.refused):
            raise _Refused(f'its volume {volume_id} is refused')
        raise _Orphan(f'its volume {volume_id} does not exist')

    def _snapshot(self, row: dict[str, Any], snapshot_id: str) -> Snapshot:
        volume = self._parent(row)
        values = self._fields(row, self.ovos.Snapshot)
        # The retired library kept the backend's name in ``progress``.
        values.update(
            volume_type_id=volume._ovo.volume_type_id,
            progress=('100%' if row.get('status') == Status.AVAILABLE
                      else None),
            metadata=self.legacy.pairs('snapshot_metadata', snapshot_id))
        with _refusing('its row'):
            ovo = cinder_ovo.new_snapshot(self.context, volume._ovo,
                                          **values)
        _check(ovo, 'Snapshot', ('volume',))
        return Snapshot._from_ovo(volume.backend, ovo, volume)

    def _connection(self, row: dict[str, Any],
                    connection_id: str) -> Connection:
        volume = self._parent(row)
        info = _json_dict(row.get('connection_info'), 'connection_info')
        if info is None:
            raise _Refused('it has no connection_info')
        connector = (_json_dict(row.get('connector'), 'connector') or
                     info.get('connector'))
        info['connector'] = info.get('connector') or connector
        info.setdefault('device', None)
        data = (info.get('conn') or {}).get('data') or {}
        values = self._fields(row, self.ovos.VolumeAttachment)
        # The retired library left these null: it stored only connections
        # that were established.
        values.update(
            connection_info=info, connector=connector,
            attach_status=row.get('attach_status') or AttachStatus.ATTACHED,
            attached_host=(row.get('attached_host') or
                           (connector or {}).get('host')),
            attach_mode=(row.get('attach_mode') or
                         data.get('access_mode') or 'rw'))
        with _refusing('its row'):
            ovo = cinder_ovo.new_attachment(self.context, **values)
        _check(ovo, 'VolumeAttachment', ('volume',))
        return Connection._from_ovo(volume.backend, ovo, volume)

    def _mark_attached(self) -> None:
        """A volume with connections is attached, as this library records
        it (the retired library left ``attach_status`` detached)."""
        for connection in self.result.objects['connection'].values():
            ovo = connection.volume._ovo
            ovo.attach_status = AttachStatus.ATTACHED
            cinder_ovo.reset_changes(ovo)

    def _key_value(self, row: dict[str, Any], key: str) -> KeyValue:
        if not isinstance(row.get('value'), str):
            raise _Refused(f'its value is not text: {row.get("value")!r:.60}')
        return KeyValue(key, row['value'])


# Columns copied by their own rules, or not at all.
_NOT_COPIED = frozenset((
    'deleted', 'deleted_at', 'volume_type_id', 'progress', 'metadata',
    'admin_metadata', 'glance_metadata', 'connection_info', 'connector'))


class _Orphan(Exception):
    """A row left out by design: it belongs to a volume not imported."""


def _backend_of(host: Any) -> Any:
    """The backend of a Cinder host string ``host@backend#pool``."""
    if not isinstance(host, str) or '@' not in host:
        raise _Refused(f'its host {host!r:.80} names no backend '
                       f'(host@backend#pool)')
    name = host.partition('@')[2].partition('#')[0]
    try:
        cinder_config.check_backend_name(name)
    except exception.CinderlibError as exc:
        raise _Refused(f'its host {host!r:.80}: {exc}') from None
    return _runtime.backend_or_placeholder(name)


def _json_dict(text: Any, field: str) -> Optional[dict[str, Any]]:
    if text is None or text == '':
        return None
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        raise _Refused(f'its {field} is not JSON: {text!r:.60}') from None
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Refused(f'its {field} is not a JSON object: {text!r:.60}')
    return value


@contextlib.contextmanager
def _refusing(what: str) -> Iterator[None]:
    """Report a value Cinder's objects refuse as a refused row."""
    try:
        yield
    except (ValueError, TypeError, KeyError) as exc:
        raise _Refused(f'{what}: {one_line(exc)}') from None


def _check(ovo: Any, name: str, skip: tuple[str, ...]) -> None:
    """Refuse an object this library would refuse to read back."""
    try:
        primitives.check_primitive(cinder_ovo.to_primitive(ovo, skip), name)
    except exception.InvalidSerializedData as exc:
        raise _Refused(exc.reason) from None


def one_line(exc: BaseException) -> str:
    """A database driver's or Cinder's error, on one line."""
    original = getattr(exc, 'orig', None) or exc
    text = ' '.join(str(original).split()) or 'no message'
    return f'{type(original).__name__}: {text}'


# -- the check when the db plugin starts -------------------------------------

def _unmigrated(conn: Any) -> Optional[str]:
    """What live objects of the retired library the database holds
    (``'3 volumes and 1 key-value'``) when none was imported and it holds
    nothing of this library's; None otherwise.  About a millisecond on
    PostgreSQL, a tenth of that without the retired tables."""
    retired = retired_tables(conn)
    if not retired:
        return None
    names = set(sqlalchemy.inspect(conn).get_table_names())
    if _has_rows(conn, names, schema.legacy_imports):
        return None
    found = []
    for table_name in retired:
        count = _count_live(conn, table_name)
        if count:
            word = 'volume' if table_name == 'volumes' else 'key-value'
            found.append(f'{count} {word}{"s" if count > 1 else ""}')
    if not found:
        return None
    if any(_has_rows(conn, names, table) for table in _OUR_TABLES.values()):
        # Used by this library before the check existed: go on, and say
        # what it does not see.
        LOG.warning('The database also holds %s of the retired cinderlib, '
                    'never imported: see %s', ' and '.join(found), COMMAND)
        return None
    return ' and '.join(found)


def _has_rows(conn: Any, names: set[str], table: Any) -> bool:
    return table.name in names and conn.execute(
        sqlalchemy.select(sqlalchemy.literal(1)).select_from(table).limit(
            1)).first() is not None


def _count_live(conn: Any, name: str) -> int:
    table = sqlalchemy.Table(name, sqlalchemy.MetaData(), autoload_with=conn)
    query = sqlalchemy.select(sqlalchemy.func.count()).select_from(table)
    if 'deleted' in table.c:
        query = query.where(sqlalchemy.or_(
            table.c.deleted.is_(None), table.c.deleted == sqlalchemy.false()))
    return int(conn.execute(query).scalar() or 0)


def refuse_unmigrated(engine: Any, url: str) -> None:
    """Raise ``InvalidPersistence`` if the database holds live objects of
    the retired library and no object or import record of this one."""
    with engine.connect() as conn:
        found = _unmigrated(conn)
    if found:
        raise exception.InvalidPersistence(
            f'database {url} holds {found} of the retired cinderlib and '
            f'nothing of this cinderlib: import them first with '
            f'`{COMMAND} --from {url} --to {url}`')
