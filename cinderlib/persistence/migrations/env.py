"""Alembic environment: runs on the connection cinderlib passes in."""

from alembic import context

from cinderlib.persistence import migrations
from cinderlib.persistence import schema

context.configure(connection=context.config.attributes['connection'],
                  target_metadata=schema.metadata,
                  version_table=migrations.VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
