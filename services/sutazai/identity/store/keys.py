"""SQL of API keys."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sutazai.identity.store import Conn


class ApiKeyRow(TypedDict):
    key_id: str
    name: str
    role: str
    secret_hash: str
    collections: list[str]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


async def insert_api_key(
    *, conn: Conn, key_id: str, name: str, role: str, secret_hash: str,
    collections: list[str], created_by: str,
) -> ApiKeyRow:
    cur = await conn.execute(
        """INSERT INTO identity.api_keys (key_id, name, role, secret_hash, collections, created_by)
           VALUES (%s, %s, %s, %s, %s, %s) RETURNING *""",
        (key_id, name, role, secret_hash, collections, created_by),
    )
    row = await cur.fetchone()
    if row is None:
        raise RuntimeError("INSERT ... RETURNING returned no row")
    return row  # type: ignore[return-value]


async def get_api_key(*, conn: Conn, key_id: str) -> ApiKeyRow | None:
    cur = await conn.execute("SELECT * FROM identity.api_keys WHERE key_id = %s", (key_id,))
    return await cur.fetchone()  # type: ignore[return-value]


async def list_api_keys(*, conn: Conn, include_revoked: bool) -> list[ApiKeyRow]:
    cur = await conn.execute(
        "SELECT * FROM identity.api_keys WHERE %s OR revoked_at IS NULL ORDER BY created_at",
        (include_revoked,),
    )
    return await cur.fetchall()  # type: ignore[return-value]


async def revoke_api_key(*, conn: Conn, key_id: str) -> bool:
    cur = await conn.execute(
        "UPDATE identity.api_keys SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL",
        (key_id,),
    )
    return cur.rowcount == 1


async def touch_api_key(*, conn: Conn, key_id: str) -> None:
    """Record use, at most once a minute per key to keep writes cheap."""
    await conn.execute(
        """UPDATE identity.api_keys SET last_used_at = now() WHERE key_id = %s
           AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')""",
        (key_id,),
    )
