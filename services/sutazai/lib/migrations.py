"""Schema migrations with Alembic: one migration history per service, each in the
service's own PostgreSQL schema, applied under an advisory lock so replicas can start together."""

from __future__ import annotations

import threading
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text


def sqlalchemy_url(dsn: str) -> str:
    """Alembic speaks SQLAlchemy URLs; use the psycopg 3 dialect for a libpq DSN."""
    for prefix in ("postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+psycopg://" + dsn[len(prefix):]
    return dsn


# Alembic keeps its running context in module globals, so one process migrates at a time;
# across processes (replicas) the PostgreSQL advisory lock serialises them.
_process_lock = threading.Lock()


def upgrade(*, dsn: str, schema: str, script_location: Path) -> None:
    """Bring `schema` to the newest revision found in `script_location`."""
    with _process_lock:
        _upgrade(dsn, schema, script_location)


def _upgrade(dsn: str, schema: str, script_location: Path) -> None:
    engine = create_engine(sqlalchemy_url(dsn), pool_pre_ping=True)
    lock_key = zlib.crc32(f"sutazai-migrations-{schema}".encode())
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            # Migrations name tables unqualified; they land in the service's schema.
            conn.execute(text(f'SET LOCAL search_path TO "{schema}", public'))
            config = Config()
            config.set_main_option("script_location", str(script_location))
            config.attributes["connection"] = conn
            config.attributes["schema"] = schema
            command.upgrade(config, "head")
    finally:
        engine.dispose()
