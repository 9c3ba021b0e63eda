"""The commands of ``cinderlib``, in the order ``--help`` lists them."""

from __future__ import annotations

from cinderlib.cli import connection, general, snapshot, volume
from cinderlib.cli.command import Commands

COMMANDS: tuple[Commands, ...] = (
    general.commands,      # demo, drivers, convert, connector, stats
    volume.commands,       # volume create|list|show|delete|extend|clone
    snapshot.commands,     # snapshot create|list|delete
    connection.commands,   # connect, disconnect, attach, detach
    # Commands that are another tool's main (as ``migrate-db`` will be:
    # cinderlib.persistence.legacy.cli_main) come last, in a Commands of
    # their own, each declared with Commands.delegate().
)
