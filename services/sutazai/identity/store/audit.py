"""SQL of the audit log."""

from __future__ import annotations

import json
from typing import Any

from sutazai.identity.audit_chain import GENESIS, entry_hash
from sutazai.identity.store import Conn


async def insert_audit(
    *, conn: Conn, actor: str, action: str, target: str | None, detail: dict[str, Any],
    request_id: str | None, collections: list[str] | tuple[str, ...] | None,
) -> None:
    """Append an entry to the hash chain; `collections` are those it concerns (empty or None:
    the whole platform). Appends are serialised by a transaction-scoped advisory lock, so ids
    follow the chain's order."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('identity.audit_log'))")
        last = await (await conn.execute(
            "SELECT hash FROM identity.audit_log ORDER BY id DESC LIMIT 1")).fetchone()
        slot = await (await conn.execute(
            "SELECT nextval(pg_get_serial_sequence('identity.audit_log', 'id')) AS id, "
            "date_trunc('microseconds', clock_timestamp()) AS at")).fetchone()
        assert slot is not None  # noqa: S101 - a SELECT without FROM always yields a row
        entry = {"id": slot["id"], "at": slot["at"], "actor": actor, "action": action, "target": target,
                 "detail": json.loads(json.dumps(detail)), "request_id": request_id,
                 "collections": sorted(collections) if collections else None}
        prev_hash = (last or {}).get("hash") or GENESIS
        await conn.execute(
            """INSERT INTO identity.audit_log (id, at, actor, action, target, detail, request_id, collections,
                                               prev_hash, hash)
               VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s)""",
            (entry["id"], entry["at"], actor, action, target, json.dumps(detail), request_id, entry["collections"],
             prev_hash, entry_hash(entry, prev_hash)),
        )


async def chain(*, conn: Conn, after_id: int = 0, batch: int = 1000) -> list[dict[str, Any]]:
    """Entries in id order after `after_id`, at most `batch` (for verifying and exporting)."""
    cur = await conn.execute(
        """SELECT id, at, actor, action, target, detail, request_id, collections, prev_hash, hash
           FROM identity.audit_log WHERE id > %s ORDER BY id LIMIT %s""",
        (after_id, batch),
    )
    return await cur.fetchall()


async def list_audit(*, conn: Conn, limit: int, within: list[str] | None) -> list[dict[str, Any]]:
    """Newest first. `within`: only entries concerning some of those collections and nothing
    outside them (a scoped admin's view); None: every entry."""
    cur = await conn.execute(
        """SELECT id, at, actor, action, target, detail, request_id, collections, hash FROM identity.audit_log
           WHERE %s::text[] IS NULL OR (collections IS NOT NULL AND collections <@ %s::text[])
           ORDER BY id DESC LIMIT %s""",
        (within, within, limit),
    )
    return await cur.fetchall()
