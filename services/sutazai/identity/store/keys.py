"""SQL of API keys."""

from __future__ import annotations

import uuid
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
    user_id: uuid.UUID | None


async def insert_api_key(
    *, conn: Conn, key_id: str, name: str, role: str, secret_hash: str,
    collections: list[str], created_by: str, user_id: uuid.UUID | None = None,
) -> ApiKeyRow:
    cur = await conn.execute(
        """INSERT INTO identity.api_keys (key_id, name, role, secret_hash, collections, created_by, user_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *""",
        (key_id, name, role, secret_hash, collections, created_by, user_id),
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


async def key_state(*, conn: Conn, key_id: str | None, jti: str) -> tuple[bool, bool]:
    """(the token's key is revoked or gone, the token itself was signed out)."""
    cur = await conn.execute(
        """SELECT (%s::text IS NOT NULL AND NOT EXISTS (
                     SELECT 1 FROM identity.api_keys WHERE key_id = %s AND revoked_at IS NULL)) AS key_gone,
                  EXISTS (SELECT 1 FROM identity.revoked_tokens WHERE jti = %s) AS signed_out""",
        (key_id, key_id, jti),
    )
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - a SELECT without FROM always yields a row
    return bool(row["key_gone"]), bool(row["signed_out"])


async def revoke_token(*, conn: Conn, jti: str, subject: str, expires_at: int) -> None:
    """Sign a token out until it would have expired anyway; forget tokens past their expiry."""
    await conn.execute("DELETE FROM identity.revoked_tokens WHERE expires_at < now()")
    await conn.execute(
        """INSERT INTO identity.revoked_tokens (jti, subject, expires_at)
           VALUES (%s, %s, to_timestamp(%s)) ON CONFLICT (jti) DO NOTHING""",
        (jti, subject, expires_at),
    )


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
