"""Shared body of every service's Alembic env.py."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection


def run() -> None:
    """Run migrations online on the connection handed over by `sutazai.lib.migrations`."""
    config = context.config
    conn: Connection = config.attributes["connection"]
    schema: str = config.attributes["schema"]
    context.configure(connection=conn, version_table_schema=schema, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
