"""SQLAlchemy Core statements compiled once per database, for the ``db``
plugin's statements of every operation.

``Connection.execute`` of a Core statement makes its cache key, looks its
compiled form up, builds the parameters and sets up typed result
processing every time: on SQLite that is about a third of a statement's
time.  A ``Prepared`` statement compiles once per dialect and parameter
set, converts the parameters with the types' own bind processors (the
values stored are the same) and runs the SQL with
``Connection.exec_driver_sql``: still through SQLAlchemy's connection, so
its events fire and a driver's error is wrapped, and its connection
invalidated, exactly as for ``execute``.

Rows come back untyped, as the driver gives them: use it for statements
whose result columns need no conversion (integers, text, a flag tested
for truth).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Optional

from sqlalchemy.engine import Connection, CursorResult

# (names of the parameters in the SQL's order, or None for a statement
# run through ``execute``; their bind processors; the SQL; whether the
# driver takes a sequence rather than a mapping).
_Compiled = tuple[Optional[tuple[str, ...]],
                  tuple[Optional[Callable[[Any], Any]], ...], str, bool]


class Prepared:
    """A Core statement run as SQL compiled once per dialect and set of
    parameter names."""

    __slots__ = ('statement', '_compiled', '__weakref__')

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: weakref.WeakKeyDictionary[
            Any, dict[tuple[str, ...], _Compiled]] = (
                weakref.WeakKeyDictionary())

    def execute(self, conn: Connection,
                params: dict[str, Any]) -> CursorResult[Any]:
        """Run the statement with ``params`` on ``conn``."""
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
            return conn.execute(self.statement, params)
        values = [params[name] if processor is None
                  else processor(params[name])
                  for name, processor in zip(names, processors)]
        if positional:
            return conn.exec_driver_sql(sql, tuple(values))
        return conn.exec_driver_sql(sql, dict(zip(names, values)))

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
