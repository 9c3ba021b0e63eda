"""Ids, names and keys compare exactly on MySQL and MariaDB.

Their default collations ignore letter case and trailing spaces, so that
``get_volumes(volume_name='Disk')`` found ``'disk'``, and two ids or keys
differing only that way shared one row.  This revision gives those
columns a binary collation without padding, as the other databases
compare.  Other databases are left as they are.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# {table: [(column, length, nullable)]}: the text columns queries match.
COLUMNS = {
    'cinderlib_volumes': [('id', 255, False), ('name', 255, True),
                          ('backend_name', 255, False)],
    'cinderlib_volume_types': [('id', 255, False),
                               ('volume_id', 255, False)],
    'cinderlib_snapshots': [('id', 255, False), ('name', 255, True),
                            ('backend_name', 255, False),
                            ('volume_id', 255, False)],
    'cinderlib_connections': [('id', 255, False),
                              ('backend_name', 255, False),
                              ('volume_id', 255, False),
                              ('attached_host', 255, True)],
    'cinderlib_key_values': [('key', 255, False)],
    'cinderlib_legacy_imports': [('kind', 16, False), ('id', 255, False)],
}
# Binary and without padding first: MariaDB's, then MySQL 8's; MySQL 5.7
# only has a binary one that pads (trailing spaces still ignored).
PREFERRED = ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin', 'utf8mb4_bin')


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name not in ('mysql', 'mariadb'):
        return
    available = {row[0] for row in bind.exec_driver_sql(
        'SELECT COLLATION_NAME FROM information_schema.COLLATIONS')}
    collation = next(name for name in PREFERRED if name in available)
    for table, columns in COLUMNS.items():
        changes = ', '.join(
            f'MODIFY `{name}` VARCHAR({length}) CHARACTER SET utf8mb4 '
            f'COLLATE {collation}{"" if nullable else " NOT NULL"}'
            for name, length, nullable in columns)
        op.execute(f'ALTER TABLE `{table}` {changes}')
