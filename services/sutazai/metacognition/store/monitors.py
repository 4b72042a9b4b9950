"""SQL of observations, ratings and alerts."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from sutazai.metacognition.store import Conn, typed


@dataclass(frozen=True)
class ObservationRow:
    """One answered question as the monitors see it."""

    abstained: bool
    confidence: float | None
    steps: list[dict[str, Any]] = field(default_factory=list)
    """each step's tool, status and latency_ms"""
    empty_retrieval: bool = False
    trace_id: uuid.UUID | None = None
    seq: int = 0
    observed_at: dt.datetime | None = None
    collection: str | None = None
    models: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AlertRow:
    id: uuid.UUID
    rule: str
    status: str
    """firing | resolved"""
    value: float
    threshold: float
    detail: dict[str, Any]
    fired_at: dt.datetime
    resolved_at: dt.datetime | None


@dataclass(frozen=True)
class ReferencePin:
    """Where the reference period drift is measured against starts, and who pinned it."""

    first_seq: int
    pinned_by: str
    pinned_at: dt.datetime





async def observe(*, conn: Conn, trace_id: uuid.UUID, abstained: bool, confidence: float | None,
                  collection: str | None, models: list[str], steps: list[dict[str, Any]],
                  empty_retrieval: bool) -> bool:
    """Record one answered question; False when it was already recorded (a redelivered event)."""
    cur = await conn.execute(
        """INSERT INTO metacognition.observations (trace_id, abstained, confidence, collection, models, steps,
                                                   empty_retrieval)
           VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (trace_id) DO NOTHING RETURNING trace_id""",
        (trace_id, abstained, confidence, collection, models, Jsonb(steps), empty_retrieval))
    return await cur.fetchone() is not None


async def rate(*, conn: Conn, trace_id: uuid.UUID, subject: str, rating: int) -> None:
    await conn.execute(
        """INSERT INTO metacognition.ratings (trace_id, subject, rating) VALUES (%s, %s, %s)
           ON CONFLICT (trace_id, subject) DO UPDATE SET rating = EXCLUDED.rating, rated_at = now()""",
        (trace_id, subject, rating))


async def recent_observations(*, conn: Conn, limit: int) -> list[ObservationRow]:
    """The newest `limit` observations, newest first."""
    cur = await typed(conn, ObservationRow).execute(
        "SELECT * FROM metacognition.observations ORDER BY seq DESC LIMIT %s",
        (limit,))
    return await cur.fetchall()


async def reference_observations(*, conn: Conn, limit: int) -> list[ObservationRow]:
    """The reference period: `limit` observations from the pinned start (else the first ones)."""
    cur = await typed(conn, ObservationRow).execute(
        """SELECT o.* FROM metacognition.observations o
           WHERE o.seq >= coalesce((SELECT first_seq FROM metacognition.monitor_reference), 0)
           ORDER BY o.seq LIMIT %s""", (limit,))
    return await cur.fetchall()


async def pin_reference(*, conn: Conn, size: int, pinned_by: str) -> ReferencePin | None:
    """Make the newest `size` observations the reference period; None when there are none."""
    cur = await typed(conn, ReferencePin).execute(
        """INSERT INTO metacognition.monitor_reference (first_seq, pinned_by)
           SELECT min(seq), %s FROM (SELECT seq FROM metacognition.observations ORDER BY seq DESC LIMIT %s) newest
           HAVING count(*) > 0
           ON CONFLICT (id) DO UPDATE SET first_seq = EXCLUDED.first_seq, pinned_by = EXCLUDED.pinned_by,
               pinned_at = now()
           RETURNING first_seq, pinned_by, pinned_at""", (pinned_by, size))
    return await cur.fetchone()


async def reference_pin(*, conn: Conn) -> ReferencePin | None:
    cur = await typed(conn, ReferencePin).execute(
        "SELECT first_seq, pinned_by, pinned_at FROM metacognition.monitor_reference")
    return await cur.fetchone()


async def recent_ratings(*, conn: Conn, limit: int) -> list[int]:
    cur = await conn.execute("SELECT rating FROM metacognition.ratings ORDER BY rated_at DESC, seq DESC LIMIT %s",
                             (limit,))
    return [int(r["rating"]) for r in await cur.fetchall()]


async def fire(*, conn: Conn, rule: str, value: float, threshold: float,
               detail: dict[str, Any]) -> AlertRow | None:
    """A new firing alert for `rule`, or None when one is already firing (it is updated)."""
    cur = await typed(conn, AlertRow).execute(
        """INSERT INTO metacognition.alerts (id, rule, status, value, threshold, detail)
           VALUES (%s, %s, 'firing', %s, %s, %s)
           ON CONFLICT (rule) WHERE status = 'firing' DO NOTHING RETURNING *""",
        (uuid.uuid4(), rule, value, threshold, Jsonb(detail)))
    row = await cur.fetchone()
    if row is None:
        await conn.execute("UPDATE metacognition.alerts SET value = %s, detail = %s "
                           "WHERE rule = %s AND status = 'firing'", (value, Jsonb(detail), rule))
    return row


async def resolve(*, conn: Conn, rule: str) -> AlertRow | None:
    cur = await typed(conn, AlertRow).execute(
        """UPDATE metacognition.alerts SET status = 'resolved', resolved_at = now()
           WHERE rule = %s AND status = 'firing' RETURNING *""", (rule,))
    return await cur.fetchone()


async def alerts(*, conn: Conn, status: str | None, limit: int) -> list[AlertRow]:
    cur = await typed(conn, AlertRow).execute(
        "SELECT * FROM metacognition.alerts WHERE %s::text IS NULL OR status = %s "
        "ORDER BY fired_at DESC LIMIT %s", (status, status, limit))
    return await cur.fetchall()


async def firing(*, conn: Conn) -> list[AlertRow]:
    cur = await typed(conn, AlertRow).execute(
        "SELECT * FROM metacognition.alerts WHERE status = 'firing' ORDER BY fired_at")
    return await cur.fetchall()
