"""Alembic migrations of the ``db`` plugin's schema (see ``upgrade``)."""

from __future__ import annotations

import os
from typing import Any

from cinderlib import exception

DIRECTORY = os.path.dirname(os.path.abspath(__file__))
VERSION_TABLE = 'cinderlib_schema_version'


def _config(connection: Any = None) -> Any:
    from alembic.config import Config
    config = Config()
    config.set_main_option('script_location', DIRECTORY)
    config.attributes['connection'] = connection
    return config


def revisions() -> list[str]:
    """Known revisions, oldest first."""
    from alembic.script import ScriptDirectory
    script = ScriptDirectory.from_config(_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def current_revision(connection: Any) -> Any:
    from alembic.runtime.migration import MigrationContext
    context = MigrationContext.configure(
        connection, opts={'version_table': VERSION_TABLE})
    return context.get_current_revision()


def upgrade(engine: Any, revision: str = 'head') -> None:
    """Bring the schema to ``revision``; refuse unknown (newer) schemas."""
    from alembic import command
    with engine.begin() as connection:
        current = current_revision(connection)
        if current is not None and current not in revisions():
            raise exception.InvalidPersistence(
                f'the database schema is at revision {current!r}, which '
                f'this cinderlib does not know (newest known: '
                f'{revisions()[-1]!r}); upgrade cinderlib')
        command.upgrade(_config(connection), revision)
