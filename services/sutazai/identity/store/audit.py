"""SQL of the audit log."""

from __future__ import annotations

import json
from typing import Any

from sutazai.identity.store import Conn


async def insert_audit(
    *, conn: Conn, actor: str, action: str, target: str | None, detail: dict[str, Any],
    request_id: str | None, collections: list[str] | tuple[str, ...] | None,
) -> None:
    """Append an entry; `collections` are those it concerns (empty or None: the whole platform)."""
    await conn.execute(
        """INSERT INTO identity.audit_log (actor, action, target, detail, request_id, collections)
           VALUES (%s, %s, %s, %s::jsonb, %s, %s)""",
        (actor, action, target, json.dumps(detail), request_id, sorted(collections) if collections else None),
    )


async def list_audit(*, conn: Conn, limit: int, within: list[str] | None) -> list[dict[str, Any]]:
    """Newest first. `within`: only entries concerning some of those collections and nothing
    outside them (a scoped admin's view); None: every entry."""
    cur = await conn.execute(
        """SELECT id, at, actor, action, target, detail, request_id, collections FROM identity.audit_log
           WHERE %s::text[] IS NULL OR (collections IS NOT NULL AND collections <@ %s::text[])
           ORDER BY id DESC LIMIT %s""",
        (within, within, limit),
    )
    return await cur.fetchall()
