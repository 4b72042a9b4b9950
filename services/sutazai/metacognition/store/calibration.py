"""SQL of assessments, labelled outcomes and fitted calibrators."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from sutazai.metacognition.store import Conn, typed


@dataclass(frozen=True)
class LabelledRow:
    """An assessment with its label: what the answer looked like when it was decided, the
    probability given then by which calibrator, and whether it was right."""

    trace_id: uuid.UUID
    features: dict[str, Any]
    probability: float
    calibrator: int
    correct: bool
    source: str
    """evaluation | feedback"""
    suite: str | None
    run_id: uuid.UUID | None
    created_at: dt.datetime

    @property
    def group(self) -> str:
        """The suite of an evaluation label; '(feedback)' for feedback."""
        return self.suite or "(feedback)" if self.source == "evaluation" else "(feedback)"


@dataclass(frozen=True)
class CalibratorRow:
    """A fitted calibrator (version 0, the prior, has no row)."""

    version: int
    method: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    held_out: list[list[float]]
    """[probability, 1 or 0] pairs it was measured on"""
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class CalibratorSummary:
    version: int
    method: str
    metrics: dict[str, Any]
    created_by: str
    created_at: dt.datetime


async def insert_assessment(*, conn: Conn, trace_id: uuid.UUID | None, subject: str, features: dict[str, Any],
                            probability: float, calibrator: int) -> uuid.UUID | None:
    """Record an assessment; a second one for the same trace by the same subject replaces the first
    (a retried call); None when the trace was assessed for someone else."""
    cur = await conn.execute(
        """INSERT INTO metacognition.assessments (id, trace_id, subject, features, probability, calibrator)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (trace_id) DO UPDATE SET features = EXCLUDED.features, probability = EXCLUDED.probability,
               calibrator = EXCLUDED.calibrator, created_at = now()
               WHERE assessments.subject = EXCLUDED.subject
           RETURNING id""",
        (uuid.uuid4(), trace_id, subject, Jsonb(features), probability, calibrator))
    row = await cur.fetchone()
    return None if row is None else uuid.UUID(str(row["id"]))


async def upsert_outcomes(*, conn: Conn, rows: Sequence[dict[str, Any]]) -> int:
    """Store labelled outcomes read from the learning service (a later label replaces an earlier one)."""
    async with conn.cursor() as cur:
        await cur.executemany(
            """INSERT INTO metacognition.outcomes (trace_id, source, correct, suite, run_id, recorded_at)
               VALUES (%(trace_id)s, %(source)s, %(correct)s, %(suite)s, %(run_id)s, %(recorded_at)s)
               ON CONFLICT (trace_id, source) DO UPDATE SET correct = EXCLUDED.correct, suite = EXCLUDED.suite,
                   run_id = EXCLUDED.run_id, recorded_at = EXCLUDED.recorded_at""",
            [{"suite": None, "run_id": None, **r} for r in rows])
    return len(rows)


async def last_outcome_at(*, conn: Conn) -> Any:
    cur = await conn.execute("SELECT max(recorded_at) AS at FROM metacognition.outcomes")
    row = await cur.fetchone()
    return row["at"] if row else None


async def labelled(*, conn: Conn, source: str | None = None, suite: str | None = None) -> list[LabelledRow]:
    """Assessments with a label: features, the probability given then, and whether the answer was
    right (an evaluation's label wins over feedback on the same trace)."""
    cur = await typed(conn, LabelledRow).execute(
        """SELECT DISTINCT ON (a.trace_id) a.trace_id, a.features, a.probability, a.calibrator, o.correct, o.source,
                  o.suite, o.run_id, a.created_at
           FROM metacognition.assessments a JOIN metacognition.outcomes o ON o.trace_id = a.trace_id
           WHERE (%(source)s::text IS NULL OR o.source = %(source)s)
             AND (%(suite)s::text IS NULL OR o.suite = %(suite)s)
           ORDER BY a.trace_id, o.source = 'evaluation' DESC""",
        {"source": source, "suite": suite})
    return await cur.fetchall()


async def insert_calibrator(*, conn: Conn, method: str, params: dict[str, Any], metrics: dict[str, Any],
                            held_out: list[tuple[float, bool]], created_by: str) -> CalibratorRow:
    cur = await typed(conn, CalibratorRow).execute(
        """INSERT INTO metacognition.calibrators (method, params, metrics, held_out, created_by)
           VALUES (%s, %s, %s, %s, %s) RETURNING *""",
        (method, Jsonb(params), Jsonb(metrics), Jsonb([[p, y] for p, y in held_out]), created_by))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - RETURNING yields the row
    return row


async def newest_calibrator(*, conn: Conn) -> CalibratorRow | None:
    cur = await typed(conn, CalibratorRow).execute(
        "SELECT * FROM metacognition.calibrators ORDER BY version DESC LIMIT 1")
    return await cur.fetchone()


async def calibrators(*, conn: Conn, limit: int) -> list[CalibratorSummary]:
    cur = await typed(conn, CalibratorSummary).execute(
        "SELECT version, method, metrics, created_by, created_at FROM metacognition.calibrators "
        "ORDER BY version DESC LIMIT %s", (limit,))
    return await cur.fetchall()
