"""The initial schema.

Revision ID: 0001
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

ID = 255
# MySQL's TEXT holds 64 KiB and its DATETIME drops the microseconds.
TEXT = sa.Text().with_variant(mysql.LONGTEXT(), 'mysql', 'mariadb')
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',
                                       'mariadb')


def _state_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column('created_at', TIMESTAMP),
        sa.Column('deleted', sa.Boolean, nullable=False, default=False),
        sa.Column('deleted_at', TIMESTAMP),
        sa.Column('version', sa.Integer, nullable=False),
        sa.Column('data', TEXT, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        'cinderlib_volumes',
        sa.Column('id', sa.String(ID), primary_key=True),
        sa.Column('name', sa.String(255), index=True),
        sa.Column('backend_name', sa.String(255), nullable=False,
                  index=True),
        sa.Column('status', sa.String(36), index=True),
        *_state_columns())
    op.create_table(
        'cinderlib_volume_types',
        sa.Column('id', sa.String(ID), primary_key=True),
        sa.Column('volume_id', sa.String(ID), nullable=False, index=True),
        sa.Column('extra_specs', TEXT, nullable=False),
        sa.Column('qos_specs', TEXT),
        sa.Column('data', TEXT, nullable=False))
    op.create_table(
        'cinderlib_snapshots',
        sa.Column('id', sa.String(ID), primary_key=True),
        sa.Column('backend_name', sa.String(255), nullable=False,
                  index=True),
        sa.Column('name', sa.String(255), index=True),
        sa.Column('volume_id', sa.String(ID), nullable=False, index=True),
        sa.Column('status', sa.String(36), index=True),
        *_state_columns())
    op.create_table(
        'cinderlib_connections',
        sa.Column('id', sa.String(ID), primary_key=True),
        sa.Column('backend_name', sa.String(255), nullable=False,
                  index=True),
        sa.Column('volume_id', sa.String(ID), nullable=False, index=True),
        sa.Column('attached_host', sa.String(255), index=True),
        sa.Column('status', sa.String(36), index=True),
        *_state_columns())
    op.create_table(
        'cinderlib_key_values',
        sa.Column('key', sa.String(255), primary_key=True),
        sa.Column('value', TEXT, nullable=False))
