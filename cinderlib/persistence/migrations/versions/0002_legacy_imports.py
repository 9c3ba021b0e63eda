"""Record what ``migrate-db`` imported from a retired-library database.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql',
                                       'mariadb')


def upgrade() -> None:
    op.create_table(
        'cinderlib_legacy_imports',
        sa.Column('kind', sa.String(16), primary_key=True),
        sa.Column('id', sa.String(255), primary_key=True),
        sa.Column('imported_at', TIMESTAMP, nullable=False))
