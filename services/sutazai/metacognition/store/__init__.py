"""All SQL of the metacognition service. Every function takes keyword-only arguments and the
connection to run on."""

from __future__ import annotations

from typing import Any, TypeVar

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import class_row

Conn = AsyncConnection[dict[str, Any]]
R = TypeVar("R")


def typed(conn: Conn, row: type[R]) -> AsyncCursor[R]:
    """A cursor whose rows are `row` instances (a frozen dataclass per table family)."""
    return conn.cursor(row_factory=class_row(row))
