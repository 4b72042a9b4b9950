"""SQL of the internal MCP servers registered for the planner; one frozen dataclass per row."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from sutazai.lib.db import typed
from sutazai.reasoning.store import Conn


@dataclass(frozen=True)
class McpServerRow:
    id: uuid.UUID
    name: str
    url: str
    secret: str | None
    collections: list[str]
    min_role: str
    timeout_seconds: float
    max_output_chars: int
    tools: list[dict[str, Any]]
    refused: list[dict[str, str]]
    listed_at: dt.datetime | None
    created_by: str
    created_at: dt.datetime


async def insert(*, conn: Conn, name: str, url: str, secret: str | None, collections: list[str], min_role: str,
                 timeout_seconds: float, max_output_chars: int, tools: list[dict[str, Any]],
                 refused: list[dict[str, str]], created_by: str) -> McpServerRow:
    async with typed(conn, McpServerRow) as cur:
        await cur.execute(
            """INSERT INTO reasoning.mcp_servers (id, name, url, secret, collections, min_role, timeout_seconds,
                   max_output_chars, tools, refused, listed_at, created_by)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), %s) RETURNING *""",
            (uuid.uuid4(), name, url, secret, collections, min_role, timeout_seconds, max_output_chars, Jsonb(tools),
             Jsonb(refused), created_by))
        row = await cur.fetchone()
    assert row is not None  # noqa: S101 - RETURNING always yields the row
    return row


async def all_servers(*, conn: Conn) -> list[McpServerRow]:
    async with typed(conn, McpServerRow) as cur:
        await cur.execute("SELECT * FROM reasoning.mcp_servers ORDER BY name")
        return await cur.fetchall()


async def get(*, conn: Conn, name: str) -> McpServerRow | None:
    async with typed(conn, McpServerRow) as cur:
        await cur.execute("SELECT * FROM reasoning.mcp_servers WHERE name = %s", (name,))
        return await cur.fetchone()


async def set_tools(*, conn: Conn, name: str, tools: list[dict[str, Any]], refused: list[dict[str, str]]) -> None:
    await conn.execute("UPDATE reasoning.mcp_servers SET tools = %s, refused = %s, listed_at = now() WHERE name = %s",
                       (Jsonb(tools), Jsonb(refused), name))


async def delete(*, conn: Conn, name: str) -> bool:
    return (await conn.execute("DELETE FROM reasoning.mcp_servers WHERE name = %s", (name,))).rowcount > 0
