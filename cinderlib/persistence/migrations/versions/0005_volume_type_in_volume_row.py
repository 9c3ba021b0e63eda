"""A volume's type is stored in the volume's row.

Each volume has a volume type of its own (cinderlib makes one per volume,
with the volume's id), read only with its volume.  It was a row of
``cinderlib_volume_types``, which listing volumes read by a subquery per
volume: 2 us a row on PostgreSQL, half of the query's 0.55 s for 100,000
volumes.  This revision moves the type's data (the JSON text of its Cinder
primitive, as that table's ``data`` held it) into a nullable column
``type_data`` of ``cinderlib_volumes`` (NULL: a volume without a type),
copies it there, and drops ``cinderlib_volume_types``: one copy of the
data, written in the volume's own statement.  That table's other columns,
``extra_specs`` and ``qos_specs``, repeated parts of ``data`` and were
never read.  A type row without a volume (none is written) is dropped
with the table; of a volume's type rows edited by hand into two, the one
of the lowest id is kept (listing read either).

The copy is one ``UPDATE`` with a correlated subquery, which SQLite,
PostgreSQL and MySQL/MariaDB all run (100,000 volumes: about 4 s on
SQLite and PostgreSQL).  It rewrites every volume's row: PostgreSQL's
autovacuum reclaims the old versions, SQLite reuses the pages freed
(``VACUUM`` returns them to the file system).  MySQL commits each DDL
statement by itself: a run stopped after adding the column is completed
by the next one.

``downgrade`` recreates the table as revisions 0001 and 0003 made it (on
MySQL, with the collation of the volumes' ids) and fills it from the
volumes' ``type_data``: ``extra_specs`` and ``qos_specs`` as the versions
before wrote them.

Revision ID: 0005
Revises: 0004
"""

import json
from typing import Any, Optional

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

VOLUMES = 'cinderlib_volumes'
TYPES = 'cinderlib_volume_types'
COLUMN = 'type_data'
# MySQL's TEXT holds 64 KiB.
TEXT = sa.Text().with_variant(mysql.LONGTEXT(), 'mysql', 'mariadb')
DATA = 'versioned_object.data'
# Rows of the type table written per statement by downgrade.
BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if COLUMN not in {column['name']
                      for column in inspector.get_columns(VOLUMES)}:
        op.add_column(VOLUMES, sa.Column(COLUMN, TEXT, nullable=True))
    op.execute(
        f'UPDATE {VOLUMES} SET {COLUMN} = ('
        f'SELECT t.data FROM {TYPES} t WHERE t.volume_id = {VOLUMES}.id '
        f'ORDER BY t.id LIMIT 1)')
    op.drop_table(TYPES)


def downgrade() -> None:
    bind = op.get_bind()
    types = op.create_table(
        TYPES,
        sa.Column('id', sa.String(255), primary_key=True),
        sa.Column('volume_id', sa.String(255), nullable=False, index=True),
        sa.Column('extra_specs', TEXT, nullable=False),
        sa.Column('qos_specs', TEXT),
        sa.Column('data', TEXT, nullable=False))
    if bind.dialect.name in ('mysql', 'mariadb'):
        _same_collation_as_volume_ids(bind)
    volumes = sa.table(VOLUMES, sa.column('id'), sa.column(COLUMN))
    rows = bind.execute(sa.select(volumes.c.id, volumes.c[COLUMN]).where(
        volumes.c[COLUMN].is_not(None)).order_by(volumes.c.id)).all()
    seen: set[str] = set()
    batch: list[dict[str, Any]] = []
    for volume_id, text in rows:
        row = _type_row(volume_id, text)
        if row['id'] in seen:
            continue  # the table's key: one volume per type
        seen.add(row['id'])
        batch.append(row)
        if len(batch) == BATCH:
            bind.execute(types.insert(), batch)
            batch = []
    if batch:
        bind.execute(types.insert(), batch)
    with op.batch_alter_table(VOLUMES) as table:
        table.drop_column(COLUMN)


def _type_row(volume_id: str, text: Any) -> dict[str, Any]:
    """The type table's row of a volume's type data, as the versions
    before wrote it; text that is not a type's primitive is kept as its
    data, under the volume's id."""
    row = {'id': volume_id, 'volume_id': volume_id, 'extra_specs': '{}',
           'qos_specs': None, 'data': text}
    try:
        fields = json.loads(text)[DATA]
        row['id'] = str(fields['id'])
        row['extra_specs'] = json.dumps(dict(fields.get('extra_specs')
                                             or {}))
        row['qos_specs'] = _qos_text(fields.get('qos_specs'))
    except (TypeError, ValueError, KeyError, AttributeError):
        pass
    return row


def _qos_text(qos: Any) -> Optional[str]:
    if not isinstance(qos, dict):
        return None
    return json.dumps(dict(qos.get(DATA, {}).get('specs') or {}))


def _same_collation_as_volume_ids(bind: Any) -> None:
    """The collation revision 0003 gave the type table's ids."""
    collation = bind.exec_driver_sql(
        'SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE '
        'TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND '
        'COLUMN_NAME = %s', (VOLUMES, 'id')).scalar()
    changes = ', '.join(
        f'MODIFY `{name}` VARCHAR(255) CHARACTER SET utf8mb4 '
        f'COLLATE {collation} NOT NULL' for name in ('id', 'volume_id'))
    op.execute(f'ALTER TABLE `{TYPES}` {changes}')
