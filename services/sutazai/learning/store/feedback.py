"""SQL of feedback on answers."""

from __future__ import annotations

import uuid
from typing import Any

from sutazai.learning.store import Conn

_COLUMNS = "id, trace_id, subject, rating, comment, collection, created_at, updated_at"


async def upsert_feedback(
    *, conn: Conn, trace_id: uuid.UUID, subject: str, rating: int, comment: str | None, collection: str | None,
) -> tuple[dict[str, Any], bool]:
    """Record one person's verdict on a trace; a second verdict replaces the first.

    Returns the row and whether it was new."""
    row = await (await conn.execute(
        f"""INSERT INTO learning.feedback (id, trace_id, subject, rating, comment, collection)
            VALUES (%s, %s, %s, %s, %s, %s)
            ON CONFLICT (trace_id, subject) DO UPDATE
               SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, collection = EXCLUDED.collection,
                   updated_at = now()
            RETURNING {_COLUMNS}, (xmax = 0) AS inserted""",  # noqa: S608 - fixed column list
        (uuid.uuid4(), trace_id, subject, rating, comment, collection),
    )).fetchone()
    assert row is not None  # noqa: S101 - RETURNING always yields the row
    inserted = bool(row.pop("inserted"))
    return row, inserted


async def list_feedback(
    *, conn: Conn, trace_id: uuid.UUID | None, subject: str | None, within: list[str] | None, limit: int,
) -> list[dict[str, Any]]:
    """Newest first; filtered by trace, by who gave it, and/or to traces in `within` collections."""
    clauses, params = ["TRUE"], list[Any]()
    if trace_id is not None:
        clauses.append("trace_id = %s")
        params.append(str(trace_id))
    if subject is not None:
        clauses.append("subject = %s")
        params.append(subject)
    if within is not None:
        clauses.append("collection = ANY(%s)")
        params.append(within)
    query = (f"SELECT {_COLUMNS} FROM learning.feedback WHERE {' AND '.join(clauses)} "  # noqa: S608
             "ORDER BY created_at DESC LIMIT %s")
    return await (await conn.execute(query, (*params, limit))).fetchall()
