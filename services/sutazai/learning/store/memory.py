"""SQL of procedural memory: corrections, exemplars and demoted passages."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from sutazai.learning.store import Conn


async def upsert_correction(*, conn: Conn, trace_id: uuid.UUID, subject: str, collection: str, question: str,
                            given_answer: str, answer: str, passage: dict[str, Any] | None,
                            wrong_passages: list[dict[str, Any]], note: str | None) -> dict[str, Any]:
    """One correction per person and answer: a second replaces the first and is reviewed again
    (an approved one stays approved only if nothing changed)."""
    cur = await conn.execute(
        """INSERT INTO learning.corrections (id, trace_id, subject, collection, question, given_answer, answer,
                                             passage, wrong_passages, note)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (trace_id, subject) DO UPDATE
              SET answer = EXCLUDED.answer, passage = EXCLUDED.passage, wrong_passages = EXCLUDED.wrong_passages,
                  note = EXCLUDED.note, status = 'pending', reviewed_by = NULL, reviewed_at = NULL,
                  review_note = NULL, created_at = now()
           RETURNING *""",
        (uuid.uuid4(), trace_id, subject, collection, question, given_answer, answer,
         Jsonb(passage) if passage else None, Jsonb(wrong_passages), note))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - RETURNING yields the row
    return row


async def get_correction(*, conn: Conn, correction_id: uuid.UUID) -> dict[str, Any] | None:
    cur = await conn.execute("SELECT * FROM learning.corrections WHERE id = %s", (correction_id,))
    return await cur.fetchone()


async def review(*, conn: Conn, correction_id: uuid.UUID, status: str, reviewer: str,
                 note: str | None) -> dict[str, Any] | None:
    """Approve or reject a pending correction; None when it is no longer pending (someone else
    reviewed it first, or it does not exist)."""
    cur = await conn.execute(
        """UPDATE learning.corrections SET status = %s, reviewed_by = %s, reviewed_at = now(), review_note = %s
           WHERE id = %s AND status = 'pending' RETURNING *""", (status, reviewer, note, correction_id))
    return await cur.fetchone()


async def retire_origin(*, conn: Conn, origin: str, origin_id: str) -> None:
    await conn.execute("UPDATE learning.exemplars SET active = false, retired_at = now() "
                       "WHERE origin = %s AND origin_id = %s AND active", (origin, origin_id))
    if origin == "correction":
        await conn.execute("UPDATE learning.demotions SET active = false WHERE correction_id = %s",
                           (uuid.UUID(origin_id),))


async def upsert_exemplar(*, conn: Conn, collection: str, question: str, answer: str,
                          passage: dict[str, Any] | None, origin: str, origin_id: str, trace_id: uuid.UUID | None,
                          created_by: str, work: str | None = None) -> dict[str, Any]:
    cur = await conn.execute(
        """INSERT INTO learning.exemplars (id, collection, question, answer, passage, origin, origin_id, trace_id,
                                           created_by, work)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (origin, origin_id) DO UPDATE
              SET question = EXCLUDED.question, answer = EXCLUDED.answer, passage = EXCLUDED.passage,
                  work = EXCLUDED.work, active = true, retired_at = NULL, created_by = EXCLUDED.created_by,
                  created_at = now()
           RETURNING *""",
        (uuid.uuid4(), collection, question, answer, Jsonb(passage) if passage else None, origin, origin_id,
         trace_id, created_by, work))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - RETURNING yields the row
    return row


async def insert_demotion(*, conn: Conn, collection: str, question: str, chunk_id: str,
                          correction_id: uuid.UUID) -> None:
    await conn.execute(
        """INSERT INTO learning.demotions (id, collection, question, chunk_id, correction_id)
           VALUES (%s, %s, %s, %s, %s) ON CONFLICT (correction_id, chunk_id) DO UPDATE SET active = true""",
        (uuid.uuid4(), collection, question, chunk_id, correction_id))


async def ratings_of(*, conn: Conn, trace_id: uuid.UUID) -> tuple[int, int]:
    """(up, down) verdicts on a trace."""
    cur = await conn.execute("SELECT count(*) FILTER (WHERE rating > 0) AS up, count(*) FILTER (WHERE rating < 0) "
                             "AS down FROM learning.feedback WHERE trace_id = %s", (trace_id,))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - an aggregate yields a row
    return int(row["up"]), int(row["down"])


async def corrections(*, conn: Conn, status: str | None, subject: str | None, within: list[str] | None,
                      limit: int) -> list[dict[str, Any]]:
    clauses, params = ["TRUE"], list[Any]()
    for clause, value in (("status = %s", status), ("subject = %s", subject), ("collection = ANY(%s)", within)):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    cur = await conn.execute(f"SELECT * FROM learning.corrections WHERE {' AND '.join(clauses)} "  # noqa: S608
                             "ORDER BY created_at DESC LIMIT %s", (*params, limit))
    return await cur.fetchall()


async def exemplars(*, conn: Conn, collections: list[str] | None, active_only: bool,
                    limit: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        """SELECT * FROM learning.exemplars WHERE (%s::text[] IS NULL OR collection = ANY(%s))
               AND (active OR NOT %s) ORDER BY created_at DESC LIMIT %s""",
        (collections, collections, active_only, limit))
    return await cur.fetchall()


async def get_exemplar(*, conn: Conn, exemplar_id: uuid.UUID) -> dict[str, Any] | None:
    cur = await conn.execute("SELECT * FROM learning.exemplars WHERE id = %s", (exemplar_id,))
    return await cur.fetchone()


async def retire_exemplar(*, conn: Conn, exemplar_id: uuid.UUID) -> bool:
    cur = await conn.execute("UPDATE learning.exemplars SET active = false, retired_at = now() "
                             "WHERE id = %s AND active", (exemplar_id,))
    return cur.rowcount == 1


async def demotions(*, conn: Conn, collection: str, limit: int) -> list[dict[str, Any]]:
    cur = await conn.execute("SELECT question, chunk_id FROM learning.demotions WHERE collection = %s AND active "
                             "ORDER BY created_at DESC LIMIT %s", (collection, limit))
    return await cur.fetchall()
