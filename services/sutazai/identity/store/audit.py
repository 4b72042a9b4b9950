"""SQL of the audit log."""

from __future__ import annotations

import json
from typing import Any

from sutazai.identity.store import Conn


async def insert_audit(
    *, conn: Conn, actor: str, action: str, target: str | None, detail: dict[str, Any],
    request_id: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO identity.audit_log (actor, action, target, detail, request_id)
           VALUES (%s, %s, %s, %s::jsonb, %s)""",
        (actor, action, target, json.dumps(detail), request_id),
    )


async def list_audit(*, conn: Conn, limit: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT id, at, actor, action, target, detail, request_id FROM identity.audit_log "
        "ORDER BY id DESC LIMIT %s",
        (limit,),
    )
    return await cur.fetchall()
