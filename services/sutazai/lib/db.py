"""PostgreSQL access: one async connection pool per service, opened in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg import errors as pg
from psycopg.rows import class_row, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from sutazai.lib.errors import (
    Conflict,
    DependencyTimeout,
    DependencyUnavailable,
    ErrorMapping,
    ValidationFailed,
    translated,
)

R = TypeVar("R")


def typed(conn: psycopg.AsyncConnection[Any], row: type[R]) -> psycopg.AsyncCursor[R]:
    """A cursor whose rows are `row` instances (a frozen dataclass per table family): what every
    service's store uses for typed rows."""
    return conn.cursor(row_factory=class_row(row))


def _message(exc: psycopg.Error) -> str:
    return (exc.diag.message_primary if exc.diag and exc.diag.message_primary else str(exc)).strip()


POSTGRES_ERRORS: ErrorMapping = (
    (pg.QueryCanceled, lambda e: DependencyTimeout(f"PostgreSQL cancelled a statement that ran too long: "
                                                   f"{_message(e)}")),
    (PoolTimeout, lambda e: DependencyUnavailable(f"no PostgreSQL connection came free in time ({e}); "
                                                  "the service is overloaded, try again")),
    (pg.DiskFull, lambda e: DependencyUnavailable(
        f"PostgreSQL's disk is full ({_message(e)}): free space on its data volume or give it a larger one; "
        "writes resume by themselves, and nothing acknowledged before was lost")),
    (psycopg.OperationalError, lambda e: DependencyUnavailable(f"PostgreSQL is unavailable: {_message(e)}")),
    (pg.ReadOnlySqlTransaction, lambda e: DependencyUnavailable(
        f"PostgreSQL is failing over (a write reached a standby: {_message(e)}); try again in a few seconds")),
    (pg.UniqueViolation, lambda e: Conflict(f"that already exists: {_message(e)}")),
    (pg.ForeignKeyViolation, lambda e: Conflict(f"that refers to something that does not exist: {_message(e)}")),
    (psycopg.IntegrityError, lambda e: ValidationFailed(f"a value breaks a rule of the database: {_message(e)}")),
    (psycopg.DataError, lambda e: ValidationFailed(f"a value was refused by the database: {_message(e)}")),
)
"""How PostgreSQL's errors reach callers: outages and timeouts as 503/504 (retry later),
duplicates as 409, values the database refuses (e.g. NUL bytes, out-of-range numbers) as 422."""


def describe_dsn(dsn: str) -> str:
    """host:port/db of a DSN, without credentials, for error messages."""
    parts = urlsplit(dsn)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"


class Database:
    """A pool of psycopg connections yielding dict rows; `close()` is idempotent."""

    def __init__(self, dsn: str, *, max_size: int = 10) -> None:
        self._dsn = dsn
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[dict[str, Any]]] = (
            AsyncConnectionPool(
                dsn, min_size=1, max_size=max_size, open=False,
                kwargs={"row_factory": dict_row, "connect_timeout": 5},
            )
        )
        self._closed = False

    async def open(self, *, timeout: float) -> None:
        """Open the pool, waiting up to `timeout` seconds for PostgreSQL to accept connections."""
        try:
            await self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout as exc:
            raise DependencyUnavailable(
                f"PostgreSQL at {describe_dsn(self._dsn)} did not accept connections within "
                f"{timeout:.0f}s; check SUTAZAI_DATABASE_URL and that the server is running"
            ) from exc

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[dict[str, Any]]]:
        if self._closed:
            raise RuntimeError("database pool is closed")
        with translated(POSTGRES_ERRORS):
            async with self._pool.connection(timeout=10) as conn:
                try:
                    yield conn
                except pg.ReadOnlySqlTransaction:
                    await conn.close()  # it reached a standby during a failover: the pool discards it
                    raise

    async def ping(self) -> None:
        async with self.connection() as conn:
            await conn.execute("SELECT 1")

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._pool.close()
