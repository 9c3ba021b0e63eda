"""Importing a database of the retired cinderlib (``cinderlib migrate-db``).

The retired library's ``db`` plugin kept its objects in Cinder's own
schema, created by the Cinder release it ran with (19 to 23): ``volumes``
with ``volume_metadata``, ``volume_admin_metadata`` and
``volume_glance_metadata``; ``volume_types`` with
``volume_type_extra_specs`` and ``quality_of_service_specs``;
``snapshots`` with ``snapshot_metadata``; ``volume_attachment`` (the
connections, ``connection_info`` and ``connector`` as JSON text); and a
table of its own, ``cinderlib_persistence_key_value``.  Deleted objects
were removed, or kept with ``deleted`` set (``soft_deletes``).

``migrate_database`` makes this library's objects of every live row
(``legacy_rows.py`` says how) and stores them through the ``db``
plugin's own write path (its ``_store_*`` methods, all in one of its
transactions), so that the rows are exactly the ones the plugin writes;
it records each import in ``cinderlib_legacy_imports``.  It never
writes to the retired tables and never overwrites a row of the target:
an object already there is ``unchanged`` when identical, ``skipped``
when it was imported before and changed or deleted since (so a second
run changes nothing and never brings back a deleted volume), and
``refused`` otherwise.

``refuse_unmigrated`` (in ``legacy_rows.py``) runs when the ``db``
plugin starts: a database holding the retired library's objects and none
of this library's is refused, naming the command to run, rather than
shown as an empty store.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import re
import sys
from typing import Any, Optional, Sequence

import sqlalchemy

from cinderlib import exception
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.persistence import dbms
from cinderlib.persistence import legacy_rows
from cinderlib.persistence import schema
from cinderlib.persistence.dbms import DBPersistence
from cinderlib.persistence.legacy_rows import (_OUR_TABLES, COMMAND, KINDS,
                                               Entry, one_line,
                                               refuse_unmigrated)

__all__ = ['COMMAND', 'Entry', 'KINDS', 'MigrationError', 'MigrationReport',
           'cli_main', 'migrate_database', 'refuse_unmigrated']


class MigrationError(exception.CinderlibError):
    """The migration could not run; nothing was written."""


def _counts() -> dict[str, int]:
    return dict.fromkeys(KINDS, 0)


@dataclasses.dataclass
class MigrationReport:
    """What ``migrate_database`` did (or, for a dry run, would do).

    ``imported``, ``unchanged`` (already in the target, identical) and
    ``deleted`` (rows the source marks deleted: never imported) count
    objects by kind.  ``skipped`` lists live objects left out by design
    (imported before and changed or deleted since, or belonging to a
    deleted volume), ``refused`` the ones that could not be imported (the
    target holds a different object with that id, or the row cannot be
    read), ``notes`` what was adapted in imported objects.
    """

    source: str
    target: str
    dry_run: bool
    imported: dict[str, int] = dataclasses.field(default_factory=_counts)
    unchanged: dict[str, int] = dataclasses.field(default_factory=_counts)
    deleted: dict[str, int] = dataclasses.field(default_factory=_counts)
    skipped: list[Entry] = dataclasses.field(default_factory=list)
    refused: list[Entry] = dataclasses.field(default_factory=list)
    notes: list[Entry] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every live object is in the target (none refused)."""
        return not self.refused

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-able data."""
        return dict(dataclasses.asdict(self), ok=self.ok)


# -- the public entry points --------------------------------------------------

def migrate_database(source_url: str, target_url: str,
                     dry_run: bool = False) -> MigrationReport:
    """Copy the objects of a retired-library database into this library's
    schema (see the module docstring); ``dry_run`` reports without
    writing anything.  Source and target may be the same database.

    Raises ``InvalidArgument`` for a bad URL and ``MigrationError`` when a
    database cannot be read or written (nothing is written then).
    """
    source = _parse_url(source_url, 'source_url')
    target = _parse_url(target_url, 'target_url')
    report = MigrationReport(source=_masked(source), target=_masked(target),
                             dry_run=bool(dry_run))
    try:
        plan = _Plan(_read_source(source, report), report)
        if dry_run:
            _dry_run(target, plan)
        else:
            _import(target, plan)
    except MigrationError as exc:
        raise MigrationError(_scrub(str(exc), source, target)) from None
    return report


def cli_main(argv: Sequence[str]) -> int:
    """``cinderlib migrate-db --from URL --to URL [--dry-run]``: print the
    report as JSON.  Exit 0 when no object was refused, 1 when some were
    or the migration failed, 2 for bad arguments."""
    parser = _Parser(prog=COMMAND, description=(
        'Import the volumes, snapshots, connections and key-values of a '
        'database written by the retired cinderlib (Cinder\'s schema) '
        'into this cinderlib\'s schema.  The source is never changed.'))
    parser.add_argument('--from', dest='source', required=True,
                        metavar='URL', help='SQLAlchemy URL of the '
                        'retired library\'s database')
    parser.add_argument('--to', dest='target', required=True, metavar='URL',
                        help='SQLAlchemy URL of the database to import '
                             'into (may be the same)')
    parser.add_argument('--dry-run', action='store_true',
                        help='report what would be imported; write nothing')
    try:
        args = parser.parse_args(list(argv))
    except _UsageError as exc:
        return _fail(str(exc), 2)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    try:
        report = migrate_database(args.source, args.target, args.dry_run)
    except exception.InvalidArgument as exc:
        return _fail(str(exc), 2)
    except Exception as exc:
        text = _scrub(f'{exc}', *(
            _try_parse(url) for url in (args.source, args.target)))
        if not isinstance(exc, exception.CinderlibError):
            text = f'{type(exc).__name__}: {text}'
        return _fail(text, 1)
    json.dump(report.as_dict(), sys.stdout, indent=2, sort_keys=True)
    print()
    if report.refused:
        return _fail(f'{len(report.refused)} object(s) refused, listed '
                     f'under "refused"', 1)
    return 0


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (argparse prints the usage)."""

    def error(self, message: str) -> Any:
        raise _UsageError(message)


def _fail(message: str, status: int) -> int:
    print(f'{COMMAND}: {" ".join(message.split())}', file=sys.stderr)
    return status


# -- URLs and engines ---------------------------------------------------------

def _parse_url(url: Any, field: str) -> Any:
    if not isinstance(url, str) or not url:
        raise exception.InvalidArgument(field, 'must be an SQLAlchemy URL')
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise exception.InvalidArgument(
            field, 'is not an SQLAlchemy URL') from None
    if parsed.get_backend_name() == 'sqlite' and parsed.database in (
            None, '', ':memory:'):
        raise exception.InvalidArgument(
            field, 'is an in-memory SQLite database: name a file')
    return parsed


def _try_parse(url: Any) -> Any:
    try:
        return _parse_url(url, 'url')
    except exception.InvalidArgument:
        return None


def _masked(url: Any) -> str:
    """The URL as errors show it (as the ``db`` plugin shows it)."""
    return exception._without_password(
        url.render_as_string(hide_password=True))


def _scrub(text: str, *urls: Any) -> str:
    """``text`` with the URLs' secrets masked, wherever they appear (a
    database driver's message may quote them)."""
    for url in urls:
        if url is None:
            continue
        text = text.replace(url.render_as_string(hide_password=False),
                            _masked(url))
        secrets = [url.password] + [
            value for name, values in url.query.items()
            if _SECRET_NAME.search(name)
            for value in ([values] if isinstance(values, str) else values)]
        for secret in secrets:
            if secret:
                text = text.replace(str(secret), '***')
    return text


# Query parameters whose values are secrets (``exception`` masks them in
# URLs the same way).
_SECRET_NAME = re.compile(r'password|passwd|pwd|secret|token|credential',
                          re.IGNORECASE)


def _reading_engine(url: Any) -> Optional[Any]:
    """An engine that only reads (unlike the ``db`` plugin's, it changes
    no setting of an SQLite file); None for an SQLite file that does not
    exist, which connecting would create."""
    if url.get_backend_name() == 'sqlite':
        if not os.path.exists(url.database):
            return None
        return sqlalchemy.create_engine(url)
    options: dict[str, Any] = {}
    if (url.get_backend_name() == 'postgresql' and
            'connect_timeout' not in url.query):
        options['connect_args'] = {'connect_timeout': dbms.CONNECT_TIMEOUT}
    try:
        return sqlalchemy.create_engine(url, **options)
    except Exception as exc:  # unknown dialect, missing DB driver...
        raise MigrationError(f'cannot use database {_masked(url)}: '
                             f'{one_line(exc)}') from None


# -- the source ---------------------------------------------------------------

def _read_source(url: Any, report: MigrationReport) -> legacy_rows.LegacyRows:
    engine = _reading_engine(url)
    if engine is None:
        raise MigrationError(f'source database {_masked(url)}: file '
                             f'{url.database} does not exist')
    try:
        with engine.connect() as conn:
            rows = legacy_rows.LegacyRows.read(conn)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise MigrationError(f'cannot read source database {_masked(url)}: '
                             f'{one_line(exc)}') from None
    finally:
        engine.dispose()
    if rows is None:
        raise MigrationError(
            f'source database {_masked(url)} holds no table of the retired '
            f'cinderlib (volumes, {legacy_rows.KEY_VALUE_TABLE})')
    report.deleted.update(rows.deleted)
    return rows


# -- deciding, against what the target holds ----------------------------------

# Where volume types were stored before schema revision 0005.
_OLD_TYPES_TABLE = 'cinderlib_volume_types'


class _Target:
    """What the target holds: its rows by kind and id, the data of
    volume types by volume id, and the import records.  A dry run reads a
    target at an older schema, as it is."""

    def __init__(self, conn: Any = None) -> None:
        self.rows: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self.types: dict[str, Optional[str]] = {}
        self.imported: set[tuple[str, str]] = set()
        if conn is None:
            return
        inspector = sqlalchemy.inspect(conn)
        names = set(inspector.get_table_names())
        for kind, table in _OUR_TABLES.items():
            if table.name in names:
                key = 'key' if kind == 'key_value' else 'id'
                present = {column['name'] for column in
                           inspector.get_columns(table.name)}
                self.rows[kind] = {getattr(row, key): row for row in
                                   conn.execute(sqlalchemy.select(*(
                                       column for column in table.c
                                       if column.name in present)))}
        self.types = {volume_id: getattr(row, 'type_data', None)
                      for volume_id, row in self.rows['volume'].items()}
        if _OLD_TYPES_TABLE in names:  # a schema before revision 0005
            self.types.update(conn.execute(sqlalchemy.text(
                f'SELECT volume_id, data FROM {_OLD_TYPES_TABLE}')).all())
        if schema.legacy_imports.name in names:
            table = schema.legacy_imports
            self.imported = {(row.kind, row.id) for row in conn.execute(
                sqlalchemy.select(table.c.kind, table.c.id))}

    def holds_same(self, kind: str, obj: Any) -> Optional[bool]:
        """Whether the target's row of ``obj`` is what importing it would
        write (None: no row; False for a row marked deleted)."""
        row = self.rows[kind].get(obj.key if kind == 'key_value' else obj.id)
        if row is None:
            return None
        if kind == 'key_value':
            return bool(row.value == obj.value)
        if row.deleted or row.backend_name != obj.backend_name:
            return False
        stored_type = self.types.get(obj.id) if kind == 'volume' else None
        try:
            return bool(json.loads(row.data) == _data(kind, obj) and (
                kind != 'volume' or stored_type is not None and json.loads(
                    stored_type) == _type_data(obj)))
        except (TypeError, ValueError):  # a damaged row: not the same
            return False


def _data(kind: str, obj: Any) -> Any:
    """The ``data`` the ``db`` plugin writes for ``obj``, decoded."""
    return json.loads(json.dumps(cinder_ovo.to_primitive(
        obj._ovo, dbms._SKIP[kind])))


def _type_data(volume: Any) -> Any:
    return json.loads(json.dumps(cinder_ovo.to_primitive(
        volume._ovo.volume_type)))


class _Plan:
    """The source's objects, converted, and the report they go to."""

    def __init__(self, rows: legacy_rows.LegacyRows,
                 report: MigrationReport) -> None:
        self.converted = legacy_rows.convert(rows)
        self.report = report
        self.to_write: dict[str, list[Any]] = {kind: [] for kind in KINDS}

    def decide(self, target: _Target) -> None:
        """Fill the report and ``to_write`` against ``target``."""
        report, converted = self.report, self.converted
        report.refused.extend(converted.refused)
        report.skipped.extend(converted.skipped)
        outcome: dict[str, str] = {}
        for kind in KINDS:
            for object_id, obj in converted.objects[kind].items():
                parent = (outcome.get(obj.volume_id)
                          if kind in ('snapshot', 'connection') else None)
                result = self._decide(kind, object_id, obj, target, parent)
                if kind == 'volume':
                    outcome[object_id] = result

    def _decide(self, kind: str, object_id: str, obj: Any, target: _Target,
                parent: Optional[str]) -> str:
        report = self.report
        if parent in ('refused', 'deleted'):
            entry = Entry(kind, object_id, f'its volume {obj.volume_id} is '
                                           f'{parent} in the target')
            (report.refused if parent == 'refused' else
             report.skipped).append(entry)
            return parent
        same = target.holds_same(kind, obj)
        recorded = (kind, object_id) in target.imported
        present = object_id in target.rows[kind]
        if same:
            report.unchanged[kind] += 1
            return 'unchanged'
        if recorded:
            state = ('changed' if present and not _deleted_row(
                target, kind, object_id) else 'deleted')
            report.skipped.append(Entry(
                kind, object_id, f'imported before, {state} in the target '
                                 f'since: left as it is'))
            return state
        if present:
            report.refused.append(Entry(
                kind, object_id, 'the target holds a different '
                                 f'{kind.replace("_", "-")} with this id'))
            return 'refused'
        report.imported[kind] += 1
        for note in self.converted.notes.get((kind, object_id), ()):
            report.notes.append(Entry(kind, object_id, note))
        self.to_write[kind].append(obj)
        return 'imported'


def _deleted_row(target: _Target, kind: str, object_id: str) -> bool:
    row = target.rows[kind][object_id]
    return kind != 'key_value' and bool(row.deleted)


# -- running it ---------------------------------------------------------------

def _dry_run(url: Any, plan: _Plan) -> None:
    engine = _reading_engine(url)
    if engine is None:  # an SQLite file yet to be created
        plan.decide(_Target())
        return
    try:
        with engine.connect() as conn:
            plan.decide(_Target(conn))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise MigrationError(f'cannot read target database {_masked(url)}: '
                             f'{one_line(exc)}') from None
    finally:
        engine.dispose()


def _import(url: Any, plan: _Plan) -> None:
    """Decide and write in one transaction of the target."""
    plugin = _target_plugin(url)
    try:
        with plugin._begin('importing a retired-library database') as conn:
            plan.decide(_Target(conn))
            _write(plugin, conn, plan.to_write)
    except exception.CinderlibError as exc:
        raise MigrationError(f'nothing imported: {exc}') from None
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise MigrationError(f'nothing imported into {_masked(url)}: '
                             f'{one_line(exc)}') from None
    finally:
        plugin.engine.dispose()


def _target_plugin(url: Any) -> DBPersistence:

    class ImportTarget(dbms.DBPersistence):
        """The ``db`` plugin, minus the refusal this import resolves."""

        def _refuse_unmigrated_legacy(self) -> None:
            pass

    try:
        return ImportTarget(url.render_as_string(hide_password=False))
    except exception.InvalidPersistence as exc:
        raise MigrationError(f'target: {exc.reason}') from None


def _write(plugin: DBPersistence, conn: Any,
           objects: dict[str, list[Any]]) -> None:
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    records = []
    for kind in ('volume', 'snapshot', 'connection'):
        store = getattr(plugin, f'_store_{kind}')
        for obj in objects[kind]:
            store(conn, obj, dbms._Written())
            records.append({'kind': kind, 'id': obj.id, 'imported_at': now})
    for key_value in objects['key_value']:
        conn.execute(schema.key_values.insert(),
                     {'key': key_value.key, 'value': key_value.value})
        records.append({'kind': 'key_value', 'id': key_value.key,
                        'imported_at': now})
    if records:
        conn.execute(schema.legacy_imports.insert(), records)
