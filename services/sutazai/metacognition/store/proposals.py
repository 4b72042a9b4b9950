"""SQL of improvement proposals."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from sutazai.metacognition.store import Conn


async def insert(*, conn: Conn, kind: str, change: dict[str, Any], evidence: dict[str, Any], rationale: str,
                 source: str, created_by: str) -> dict[str, Any]:
    """A new pending proposal; older pending proposals of the same kind are superseded by it."""
    await conn.execute("UPDATE metacognition.proposals SET status = 'superseded', decided_at = now() "
                       "WHERE kind = %s AND status = 'pending'", (kind,))
    cur = await conn.execute(
        """INSERT INTO metacognition.proposals (id, kind, change, evidence, rationale, source, created_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *""",
        (uuid.uuid4(), kind, Jsonb(change), Jsonb(evidence), rationale, source, created_by))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - RETURNING yields the row
    return row


async def get(*, conn: Conn, proposal_id: uuid.UUID) -> dict[str, Any] | None:
    cur = await conn.execute("SELECT * FROM metacognition.proposals WHERE id = %s", (proposal_id,))
    return await cur.fetchone()


async def recent(*, conn: Conn, status: str | None, limit: int) -> list[dict[str, Any]]:
    cur = await conn.execute("SELECT * FROM metacognition.proposals WHERE %s::text IS NULL OR status = %s "
                             "ORDER BY created_at DESC LIMIT %s", (status, status, limit))
    return await cur.fetchall()
