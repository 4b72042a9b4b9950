"""SQL of ingestion jobs (state, progress, attempts)."""

from __future__ import annotations

from typing import Any

from sutazai.knowledge.store import Conn, Row


async def insert_job(*, conn: Conn, job_id: str, document_id: str, collection: str, version: int,
                     kind: str = "index") -> Row:
    """A queued job: `index` (parse, chunk, embed, index) or `graph` (extract entities and relations)."""
    row = await (await conn.execute(
        """INSERT INTO knowledge.jobs (id, document_id, collection, version, state, stage, kind)
           VALUES (%s, %s, %s, %s, 'queued', 'queued', %s) RETURNING *""",
        (job_id, document_id, collection, version, kind),
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


_WAITING_BEHIND_WORK = """state = 'queued' AND kind IN (
    SELECT kind FROM knowledge.jobs
     WHERE state = 'running' AND updated_at >= now() - make_interval(secs => %(quiet)s))"""
"""A queued job whose queue is busy: a job of its kind (index, graph) is running and moved lately,
so it waits its turn behind that work (a long extraction) rather than being stuck."""


async def stalled_jobs(*, conn: Conn, quiet_seconds: float) -> int:
    """Unfinished jobs unchanged for `quiet_seconds`, apart from those waiting behind moving work."""
    row = await (await conn.execute(
        f"""SELECT count(*) AS stalled FROM knowledge.jobs WHERE state IN ('queued', 'running')
              AND updated_at < now() - make_interval(secs => %(quiet)s) AND NOT ({_WAITING_BEHIND_WORK})""",  # noqa: S608
        {"quiet": quiet_seconds},
    )).fetchone()
    return int(row["stalled"]) if row else 0


async def queue_state(*, conn: Conn, quiet_seconds: float) -> dict[str, Any]:
    """The job queue for metrics: unfinished jobs by kind and state, the age of the oldest
    unfinished job of each kind, and how many are stalled (as `stalled_jobs` counts them)."""
    counts = await (await conn.execute(
        """SELECT kind, state, count(*) AS n,
                  EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest
             FROM knowledge.jobs WHERE state IN ('queued', 'running') GROUP BY kind, state""")).fetchall()
    return {"counts": [(r["kind"], r["state"], int(r["n"]), float(r["oldest"])) for r in counts],
            "stalled": await stalled_jobs(conn=conn, quiet_seconds=quiet_seconds)}


async def stale_queued_jobs(*, conn: Conn, older_than_seconds: float) -> list[tuple[str, str]]:
    """(id, kind) of jobs still queued `older_than_seconds` after their last change while nothing
    of their kind is running: their event may have been lost."""
    rows = await (await conn.execute(
        f"""SELECT id::text, kind FROM knowledge.jobs WHERE state = 'queued'
              AND updated_at < now() - make_interval(secs => %(quiet)s) AND NOT ({_WAITING_BEHIND_WORK})""",  # noqa: S608
        {"quiet": older_than_seconds},
    )).fetchall()
    return [(r["id"], r["kind"]) for r in rows]


async def requeue_interrupted(*, conn: Conn) -> int:
    """After a restore: jobs the snapshot caught running go back to queued, and every queued job
    is made old enough that the next requeue round re-publishes it at once (the restored Redis has
    none of their events). Returns how many were running."""
    running = await conn.execute("UPDATE knowledge.jobs SET state = 'queued', updated_at = now() - interval '1 day' "
                                 "WHERE state = 'running'")
    await conn.execute("UPDATE knowledge.jobs SET updated_at = now() - interval '1 day' WHERE state = 'queued'")
    return running.rowcount


async def collections_with_documents(*, conn: Conn) -> list[str]:
    rows = await (await conn.execute(
        "SELECT DISTINCT collection FROM knowledge.documents ORDER BY collection")).fetchall()
    return [str(r["collection"]) for r in rows]


async def documents_by_collection(*, conn: Conn) -> dict[str, set[str]]:
    rows = await (await conn.execute("SELECT collection, id::text AS id FROM knowledge.documents")).fetchall()
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(str(row["collection"]), set()).add(str(row["id"]))
    return found


async def document_jobs(*, conn: Conn, document_id: str) -> list[Row]:
    return await (await conn.execute(
        "SELECT * FROM knowledge.jobs WHERE document_id = %s ORDER BY created_at DESC", (document_id,))).fetchall()
