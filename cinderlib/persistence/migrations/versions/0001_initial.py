"""The initial schema.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

ID = 255


def _state_columns():
    return [
        sa.Column('created_at', sa.DateTime),
        sa.Column('deleted', sa.Boolean, nullable=False, default=False),
        sa.Column('deleted_at', sa.DateTime),
        sa.Column('version', sa.Integer, nullable=False),
        sa.Column('data', sa.Text, nullable=False),
    ]


def upgrade():
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
        sa.Column('extra_specs', sa.Text, nullable=False),
        sa.Column('qos_specs', sa.Text),
        sa.Column('data', sa.Text, nullable=False))
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
        sa.Column('value', sa.Text, nullable=False))
