"""SQL of ingestion jobs (state, progress, attempts)."""

from __future__ import annotations

from sutazai.knowledge.store import Conn, Row


async def insert_job(*, conn: Conn, job_id: str, document_id: str, collection: str, version: int) -> Row:
    row = await (await conn.execute(
        """INSERT INTO knowledge.jobs (id, document_id, collection, version, state, stage)
           VALUES (%s, %s, %s, %s, 'queued', 'queued') RETURNING *""",
        (job_id, document_id, collection, version),
    )).fetchone()
    assert row is not None  # noqa: S101
    return row


async def get_job(*, conn: Conn, job_id: str) -> Row | None:
    return await (await conn.execute("SELECT * FROM knowledge.jobs WHERE id = %s", (job_id,))).fetchone()


async def update_job(
    *, conn: Conn, job_id: str, state: str | None = None, progress: float | None = None,
    stage: str | None = None, error: str | None = None, started: bool = False,
) -> None:
    await conn.execute(
        """UPDATE knowledge.jobs SET state = COALESCE(%s, state), progress = COALESCE(%s, progress),
               stage = COALESCE(%s, stage), error = COALESCE(%s, error),
               attempts = attempts + %s, updated_at = now(),
               finished_at = CASE WHEN %s IN ('done', 'failed') THEN now() ELSE finished_at END
           WHERE id = %s AND (state NOT IN ('done', 'failed') OR %s::text IS NOT NULL)""",
        (state, progress, stage, error, 1 if started else 0, state, job_id, state),
    )


async def stalled_jobs(*, conn: Conn, quiet_seconds: float) -> int:
    """Jobs not finished whose state has not changed for `quiet_seconds`."""
    row = await (await conn.execute(
        """SELECT count(*) AS stalled FROM knowledge.jobs WHERE state IN ('queued', 'running')
             AND updated_at < now() - make_interval(secs => %s)""",
        (quiet_seconds,),
    )).fetchone()
    return int(row["stalled"]) if row else 0


async def stale_queued_jobs(*, conn: Conn, older_than_seconds: float) -> list[str]:
    rows = await (await conn.execute(
        """SELECT id::text FROM knowledge.jobs WHERE state = 'queued'
             AND updated_at < now() - make_interval(secs => %s)""",
        (older_than_seconds,),
    )).fetchall()
    return [r["id"] for r in rows]
