"""SQL of evaluation runs and their per-case results."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg.types.json import Jsonb

from sutazai.learning.store import Conn


async def insert_run(*, conn: Conn, run_id: uuid.UUID, suite_id: uuid.UUID, label: str, config: dict[str, Any],
                     total: int, created_by: str) -> dict[str, Any]:
    cur = await conn.execute(
        """INSERT INTO learning.eval_runs (run_id, suite_id, label, config, status, total, created_by)
           VALUES (%s, %s, %s, %s, 'queued', %s, %s) RETURNING *""",
        (run_id, suite_id, label, Jsonb(config), total, created_by))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - INSERT ... RETURNING yields the row
    return row


async def set_credential(*, conn: Conn, run_id: uuid.UUID, key_id: str | None, credential: str | None) -> None:
    await conn.execute("UPDATE learning.eval_runs SET key_id = %s, credential = %s WHERE run_id = %s",
                       (key_id, credential, run_id))


_RUN = """SELECT r.*, s.name AS suite, s.version AS suite_version,
                 (SELECT count(*) FROM learning.eval_results e WHERE e.run_id = r.run_id) AS finished
          FROM learning.eval_runs r JOIN learning.eval_suites s USING (suite_id)"""


async def get_run(*, conn: Conn, run_id: uuid.UUID) -> dict[str, Any] | None:
    cur = await conn.execute(_RUN + " WHERE r.run_id = %s", (run_id,))
    return await cur.fetchone()


async def list_runs(*, conn: Conn, limit: int) -> list[dict[str, Any]]:
    cur = await conn.execute(_RUN + " ORDER BY r.created_at DESC LIMIT %s", (limit,))
    return await cur.fetchall()


async def done_runs_of(*, conn: Conn, suite_id: uuid.UUID, mode: str) -> list[dict[str, Any]]:
    """Finished runs of one suite version in one mode, newest first."""
    cur = await conn.execute(_RUN + " WHERE r.suite_id = %s AND r.status = 'done' AND r.config->>'mode' = %s "
                             "ORDER BY r.finished_at DESC", (suite_id, mode))
    return await cur.fetchall()


async def set_status(*, conn: Conn, run_id: uuid.UUID, status: str, error: str | None = None,
                     only_from: tuple[str, ...] = ("queued", "running")) -> bool:
    """Move a run to `status` (finished ones stay as they are); the time it started or ended is set."""
    cur = await conn.execute(
        """UPDATE learning.eval_runs SET status = %s, error = coalesce(%s, error),
               started_at = CASE WHEN %s = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
               finished_at = CASE WHEN %s IN ('done', 'cancelled', 'failed') THEN now() ELSE finished_at END,
               credential = CASE WHEN %s IN ('done', 'cancelled', 'failed') THEN NULL ELSE credential END
           WHERE run_id = %s AND status = ANY(%s)""",
        (status, error, status, status, status, run_id, list(only_from)))
    return cur.rowcount == 1


async def finished_cases(*, conn: Conn, run_id: uuid.UUID) -> set[str]:
    cur = await conn.execute("SELECT case_id FROM learning.eval_results WHERE run_id = %s", (run_id,))
    return {row["case_id"] for row in await cur.fetchall()}


async def insert_result(*, conn: Conn, run_id: uuid.UUID, result: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO learning.eval_results (run_id, case_id, position, answer, correct, abstained, confidence,
                                              latency_s, tokens, trace_id, error, candidate_correct)
           VALUES (%(run_id)s, %(case_id)s, %(position)s, %(answer)s, %(correct)s, %(abstained)s, %(confidence)s,
                   %(latency_s)s, %(tokens)s, %(trace_id)s, %(error)s, %(candidate_correct)s)
           ON CONFLICT (run_id, case_id) DO NOTHING""", {"run_id": run_id, "candidate_correct": None, **result})


async def results(*, conn: Conn, run_id: uuid.UUID) -> list[dict[str, Any]]:
    cur = await conn.execute("SELECT * FROM learning.eval_results WHERE run_id = %s ORDER BY position", (run_id,))
    return await cur.fetchall()


async def outcomes_of(*, conn: Conn, run_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The scored fields of every finished case of these runs (for their summaries)."""
    cur = await conn.execute("SELECT run_id, case_id, correct, abstained, latency_s FROM learning.eval_results "
                             "WHERE run_id = ANY(%s)", (run_ids,))
    return await cur.fetchall()


async def outcomes(*, conn: Conn, since: Any, limit: int) -> list[dict[str, Any]]:
    """Labelled answers for calibration, oldest first from `since`: evaluation cases (was the answer,
    or the one withheld for low confidence, right?) and feedback (more up than down ratings: right;
    more down, or an approved correction: wrong). A rated answer with no correction at all is a
    label too (bool_or over the outer join's missing rows is NULL, not false)."""
    cur = await conn.execute(
        """SELECT * FROM (
             SELECT r.trace_id, 'evaluation' AS source, r.candidate_correct AS correct,
                    s.name AS suite, r.run_id, r.finished_at AS recorded_at
             FROM learning.eval_results r JOIN learning.eval_runs u USING (run_id)
                  JOIN learning.eval_suites s ON s.suite_id = u.suite_id
             WHERE r.trace_id IS NOT NULL AND r.candidate_correct IS NOT NULL
           UNION ALL
             SELECT f.trace_id, 'feedback',
                    sum(f.rating) > 0 AND NOT coalesce(bool_or(c.status = 'approved'), false),
                    NULL, NULL, greatest(max(f.updated_at), max(c.reviewed_at))
             FROM learning.feedback f LEFT JOIN learning.corrections c ON c.trace_id = f.trace_id
             GROUP BY f.trace_id HAVING sum(f.rating) <> 0 OR bool_or(c.status = 'approved')
           UNION ALL
             SELECT c.trace_id, 'feedback', false, NULL, NULL, max(c.reviewed_at)
             FROM learning.corrections c
             WHERE c.status = 'approved' AND NOT EXISTS (SELECT 1 FROM learning.feedback f
                                                         WHERE f.trace_id = c.trace_id)
             GROUP BY c.trace_id
           ) labels
           WHERE %(since)s::timestamptz IS NULL OR recorded_at >= %(since)s
           ORDER BY recorded_at LIMIT %(limit)s""",
        {"since": since, "limit": limit})
    return await cur.fetchall()
