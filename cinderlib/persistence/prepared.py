"""SQLAlchemy Core statements compiled once per database, for the ``db``
plugin's statements of every operation.

``Connection.execute`` of a Core statement makes its cache key, looks its
compiled form up, builds the parameters and sets up a typed result every
time: on SQLite that is more than half of a statement's time.  A
``Prepared`` statement compiles once per dialect and set of parameter
names and converts the parameters with the column types' own bind
processors (the values stored are the same).  Then:

- on SQLite (a file or memory: no server to lose), it runs on the DB-API
  cursor of the SQLAlchemy connection, in the connection's transaction;
  a driver error is wrapped the way SQLAlchemy wraps it
  (``DBAPIError.instance``, the connection invalidated when the dialect
  says the error means it is closed), so callers see the same errors;
- elsewhere, it runs with ``Connection.exec_driver_sql``: events,
  errors, disconnect handling and pool invalidation are SQLAlchemy's own.

Rows come back untyped, as the driver gives them (tuples): use it for
statements whose result columns need no conversion (integers, text, a
flag tested for truth).  ``all`` takes every row from the DB-API cursor
(on a server's database, once SQLAlchemy ran the statement): SQLAlchemy's
``Row`` for each was a tenth of listing 100,000 volumes.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any, Callable, Optional

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

# (names of the parameters in the SQL's order, or None for a statement
# run through ``execute``; their bind processors; the SQL; whether the
# driver takes a sequence rather than a mapping).
_Compiled = tuple[Optional[tuple[str, ...]],
                  tuple[Optional[Callable[[Any], Any]], ...], str, bool]


class Prepared:
    """A Core statement run as SQL compiled once per dialect and set of
    parameter names: ``rowcount(conn, params)`` for a write,
    ``first(conn, params)`` for a query's first row (a tuple or None),
    ``all(conn, params)`` for all of them."""

    __slots__ = ('statement', '_compiled')

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: weakref.WeakKeyDictionary[
            Any, dict[tuple[str, ...], _Compiled]] = (
                weakref.WeakKeyDictionary())

    def rowcount(self, conn: Connection, params: dict[str, Any]) -> int:
        """Run the statement; the number of rows it changed."""
        return int(self._run(conn, params, _ROWCOUNT))

    def first(self, conn: Connection,
              params: dict[str, Any]) -> Optional[tuple[Any, ...]]:
        """Run the query; its first row, None if it has none."""
        row: Optional[tuple[Any, ...]] = self._run(conn, params, _FIRST)
        return row

    def all(self, conn: Connection,
            params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run the query; all its rows."""
        rows: list[tuple[Any, ...]] = self._run(conn, params, _ALL)
        return rows

    def _run(self, conn: Connection, params: dict[str, Any],
             fetch: str) -> Any:
        """Run the statement; what ``fetch`` asks: ``_ROWCOUNT``,
        ``_FIRST`` (row) or ``_ALL`` (rows)."""
        dialect = conn.dialect
        by_keys = self._compiled.get(dialect)
        if by_keys is None:
            by_keys = self._compiled[dialect] = {}
        keys = tuple(params)
        compiled = by_keys.get(keys)
        if compiled is None:
            compiled = by_keys[keys] = self._compile(dialect, keys)
        names, processors, sql, positional = compiled
        if names is None:  # what this module cannot run itself
            return _fetched(conn.execute(self.statement, params), fetch)
        values = [params[name] if processor is None
                  else processor(params[name])
                  for name, processor in zip(names, processors)]
        arguments = (tuple(values) if positional
                     else dict(zip(names, values)))
        if dialect.name != 'sqlite':
            return _fetched(conn.exec_driver_sql(sql, arguments), fetch)
        return _on_cursor(conn, sql, arguments, fetch)

    def _compile(self, dialect: Any, keys: tuple[str, ...]) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect,
                                          column_keys=list(keys))
        positional = bool(compiled.positional)
        names = (tuple(compiled.positiontup or ()) if positional
                 else tuple(compiled.binds))
        binds = compiled.binds
        if (getattr(compiled, 'escaped_bind_names', None) or
                any(name not in keys or name not in binds or
                    binds[name].expanding or binds[name].literal_execute
                    for name in names)):
            # Names the SQL writes differently, values not given, or
            # parameters rendered when executed: left to ``execute``.
            return None, (), '', positional
        processors = tuple(
            binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names)
        return names, processors, compiled.string, positional


# What a run returns (``fetch``): the row count, the first row, every row.
_ROWCOUNT, _FIRST, _ALL = 'rowcount', 'first', 'all'


def _fetched(result: Any, fetch: str) -> Any:
    """What ``fetch`` asks of a result SQLAlchemy ran."""
    if fetch is _ALL:
        with result:
            # The DB-API's rows, without a Row made for each.  The
            # drivers of server databases (psycopg, the MySQL ones)
            # received them all when the statement ran: fetching them
            # does no I/O that could fail.
            return _listed(result.cursor.fetchall())
    return result.first() if fetch is _FIRST else result.rowcount


def _listed(rows: Any) -> list[tuple[Any, ...]]:
    """The rows of ``fetchall`` as a list (PyMySQL's is a tuple)."""
    return rows if type(rows) is list else list(rows)


def _on_cursor(conn: Connection, sql: str, arguments: Any,
               fetch: str) -> Any:
    """Run ``sql`` on the DB-API cursor of ``conn``: its first row, all
    of them, or its row count (``fetch`` as for ``Prepared._run``).  A
    driver error is raised as SQLAlchemy raises it."""
    dialect = conn.dialect
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None  # a live SQLAlchemy connection
    errors = dialect.loaded_dbapi.Error
    cursor = None
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute(sql, arguments)
        if fetch is _ALL:
            return _listed(cursor.fetchall())
        return cursor.fetchone() if fetch is _FIRST else cursor.rowcount
    except errors as error:
        invalidated = dialect.is_disconnect(error, dbapi_connection, cursor)
        if invalidated:
            conn.invalidate(error)
        raise sa_exc.DBAPIError.instance(
            sql, arguments, error, errors,
            hide_parameters=conn.engine.hide_parameters,
            connection_invalidated=invalidated,
            dialect=dialect) from error
    finally:
        if cursor is not None:
            with contextlib.suppress(errors):  # of a connection invalidated
                cursor.close()
