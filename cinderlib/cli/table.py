"""The commands of ``cinderlib``, in the order ``--help`` lists them."""

from __future__ import annotations

from cinderlib.cli import adopt  # noqa: F401  (declares its commands)
from cinderlib.cli import connection, general, snapshot, volume
from cinderlib.cli.command import Commands


def _migrate_db(argv: list[str]) -> int:
    # lazy: SQLAlchemy and Alembic: only migrate-db needs them
    from cinderlib.persistence import legacy
    return legacy.cli_main(argv)


migration = Commands()
migration.delegate('migrate-db', 'import the database of the retired '
                   'cinderlib (Cinder\'s schema) into this one\'s',
                   _migrate_db)

COMMANDS: tuple[Commands, ...] = (
    general.commands,      # demo, drivers, convert, connector, stats
    volume.commands,       # volume create|list|show|delete|extend|clone|revert
    snapshot.commands,     # snapshot create|list|delete
    connection.commands,   # connect, disconnect, attach, detach
    # adopt adds manage|unmanage|manageable to volume and snapshot.
    # Commands that are another tool's main come last.
    migration,             # migrate-db
)
