"""Alembic migrations of the ``db`` plugin's schema (see ``upgrade``)."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Iterator

import sqlalchemy

from cinderlib import exception

DIRECTORY = os.path.dirname(os.path.abspath(__file__))
VERSION_TABLE = 'cinderlib_schema_version'
#: The newest revision (the test suite checks it is Alembic's head): a
#: database already there needs no Alembic, whose import costs a cold
#: start more than the rest of the check.
HEAD = '0005'


def _config(connection: Any = None) -> Any:
    # lazy: Alembic is needed only when the schema is not at HEAD
    from alembic.config import Config
    config = Config()
    config.set_main_option('script_location', DIRECTORY)
    config.attributes['connection'] = connection
    return config


def revisions() -> list[str]:
    """Known revisions, oldest first."""
    # lazy: Alembic is needed only when the schema is not at HEAD
    from alembic.script import ScriptDirectory
    script = ScriptDirectory.from_config(_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def current_revision(connection: Any) -> Any:
    # lazy: Alembic is needed only when the schema is not at HEAD
    from alembic.runtime.migration import MigrationContext
    context = MigrationContext.configure(
        connection, opts={'version_table': VERSION_TABLE})
    return context.get_current_revision()


# Alembic's ``context`` and ``op`` are module globals: one run at a time.
_process_lock = threading.Lock()
# Any constant: PostgreSQL advisory locks are named by a number.
_PG_LOCK_KEY = 0x63696E6465726C69
_MYSQL_LOCK_NAME = 'cinderlib_schema_upgrade'


def upgrade(engine: Any, revision: str = 'head') -> None:
    """Bring the schema to ``revision``; refuse unknown (newer) schemas.

    Processes starting together on an empty database take turns: the
    first creates the tables, the others then find them at ``revision``.
    """
    if revision in ('head', HEAD) and _at_head(engine):
        return
    # lazy: Alembic is needed only when the schema is not at HEAD
    from alembic import command
    with _process_lock, engine.connect() as connection:
        with _database_lock(connection):
            current = current_revision(connection)
            if current is not None and current not in revisions():
                raise exception.InvalidPersistence(
                    f'the database schema is at revision {current!r}, '
                    f'which this cinderlib does not know (newest known: '
                    f'{revisions()[-1]!r}); upgrade cinderlib')
            command.upgrade(_config(connection), revision)
            connection.commit()


def _at_head(engine: Any) -> bool:
    """Whether the schema is at ``HEAD``: one query, without Alembic (a
    schema never goes back, so no lock is needed to trust a yes)."""
    with engine.connect() as connection:
        try:
            found = connection.execute(sqlalchemy.text(
                f'SELECT version_num FROM {VERSION_TABLE}')).scalars().all()
        except sqlalchemy.exc.DBAPIError:
            return False  # no such table yet
        finally:
            connection.rollback()
    return bool(found == [HEAD])


@contextlib.contextmanager
def _database_lock(connection: Any) -> Iterator[None]:
    """Hold a database-wide lock while the schema is checked and
    upgraded (a transaction is open on ``connection`` inside)."""
    dialect = connection.dialect.name
    if dialect == 'sqlite':
        # pysqlite runs DDL outside transactions unless one is open: take
        # the write lock now, so that version check and DDL are one unit.
        connection.exec_driver_sql('BEGIN IMMEDIATE')
        yield
    elif dialect == 'postgresql':
        connection.exec_driver_sql(
            f'SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})')
        yield
    elif dialect in ('mysql', 'mariadb'):
        # DDL commits implicitly there: a named (session) lock instead.
        got = connection.exec_driver_sql(
            f"SELECT GET_LOCK('{_MYSQL_LOCK_NAME}', 300)").scalar()
        if got != 1:
            raise exception.InvalidPersistence(
                'timed out waiting for another process to upgrade the '
                'database schema')
        # End the transaction GET_LOCK began: the next one must see what
        # the previous lock holder committed.
        connection.commit()
        try:
            yield
        finally:
            connection.rollback()
            connection.exec_driver_sql(
                f"SELECT RELEASE_LOCK('{_MYSQL_LOCK_NAME}')")
            connection.commit()
    else:
        yield
