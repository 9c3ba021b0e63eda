"""The ``db`` plugin's tables (SQLAlchemy Core).

Each object's full state is the JSON text of its Cinder object primitive
(``data``); the columns beside it are the ones queries filter on, all
indexed.  A volume's row also holds its volume type's primitive
(``type_data``): each volume has a type of its own, read with it, so that
listing volumes reads one table (revision 0005; a table of types before).
``version`` counts the writes of a row, so that a write based on an
outdated copy is detected instead of silently undoing another one.
Changing a table means adding an Alembic revision under ``migrations/``.
"""

from typing import Any

from sqlalchemy import (Boolean, Column, DateTime, Index, Integer, MetaData,
                        String, Table, Text)
from sqlalchemy.dialects import mysql

from cinderlib.validation import MAX_STATUS_LENGTH

# MySQL's TEXT holds 64 KiB and its DATETIME drops the microseconds.
TEXT = Text().with_variant(mysql.LONGTEXT(), 'mysql', 'mariadb')
TIMESTAMP = DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',
                                    'mariadb')

ID = 255  # ids are UUIDs unless setup(non_uuid_ids=True)

metadata = MetaData()


def _state_columns() -> list[Column[Any]]:
    return [
        Column('created_at', TIMESTAMP),
        Column('deleted', Boolean, nullable=False, default=False),
        Column('deleted_at', TIMESTAMP),
        Column('version', Integer, nullable=False),
        Column('data', TEXT, nullable=False),
    ]


volumes = Table(
    'cinderlib_volumes', metadata,
    Column('id', String(ID), primary_key=True),
    Column('name', String(255), index=True),
    Column('backend_name', String(255), nullable=False),
    Column('status', String(MAX_STATUS_LENGTH), index=True),
    *_state_columns(),
    # The JSON text of the primitive of the volume's own volume type (each
    # volume has one, with its id; NULL: none), beside the volume's data
    # so that listing reads no other table (revision 0005).
    Column('type_data', TEXT),
    # A backend's volumes, oldest first (Backend.volumes), in index order.
    Index('ix_cinderlib_volumes_backend_listing', 'backend_name',
          'created_at', 'id'))

snapshots = Table(
    'cinderlib_snapshots', metadata,
    Column('id', String(ID), primary_key=True),
    Column('backend_name', String(255), nullable=False, index=True),
    Column('name', String(255), index=True),
    Column('volume_id', String(ID), nullable=False, index=True),
    Column('status', String(MAX_STATUS_LENGTH), index=True),
    *_state_columns())

connections = Table(
    'cinderlib_connections', metadata,
    Column('id', String(ID), primary_key=True),
    Column('backend_name', String(255), nullable=False, index=True),
    Column('volume_id', String(ID), nullable=False, index=True),
    Column('attached_host', String(255), index=True),
    Column('status', String(MAX_STATUS_LENGTH), index=True),
    *_state_columns())

key_values = Table(
    'cinderlib_key_values', metadata,
    Column('key', String(255), primary_key=True),
    Column('value', TEXT, nullable=False))

# What ``cinderlib migrate-db`` imported from a retired-library database
# (``legacy.py``): ``kind`` is volume, snapshot, connection or key_value,
# ``id`` the object's id or the key.  An object deleted or changed since
# is then not imported again.
legacy_imports = Table(
    'cinderlib_legacy_imports', metadata,
    Column('kind', String(16), primary_key=True),
    Column('id', String(ID), primary_key=True),
    Column('imported_at', TIMESTAMP, nullable=False))
