"""SQL of connectors, the items each has synced, and their sync runs; one frozen dataclass per
table family."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from sutazai.knowledge.store import Conn
from sutazai.lib.db import typed as _typed


@dataclass(frozen=True)
class ConnectorRow:
    id: uuid.UUID
    name: str
    kind: str
    collection: str
    config: dict[str, Any]
    secret: str | None
    every_seconds: int | None
    next_sync_at: dt.datetime | None
    requested_by: str | None
    lease_until: dt.datetime | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class ItemRow:
    connector_id: uuid.UUID
    item: str
    version: str
    document_ids: list[uuid.UUID]
    synced_at: dt.datetime


@dataclass(frozen=True)
class RunRow:
    id: uuid.UUID
    connector_id: uuid.UUID
    trigger: str
    requested_by: str | None
    state: str
    seen: int
    added: int
    changed: int
    unchanged: int
    deleted: int
    failed: int
    errors: list[dict[str, str]]
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


async def insert_connector(*, conn: Conn, name: str, kind: str, collection: str, config: dict[str, Any],
                           secret: str | None, every_seconds: int | None, created_by: str) -> ConnectorRow:
    async with _typed(conn, ConnectorRow) as cur:
        await cur.execute(
            """INSERT INTO knowledge.connectors (id, name, kind, collection, config, secret, every_seconds,
                   next_sync_at, created_by)
               VALUES (%s, %s, %s, %s, %s, %s, %s, now(), %s) RETURNING *""",
            (uuid.uuid4(), name, kind, collection, Jsonb(config), secret, every_seconds, created_by))
        row = await cur.fetchone()
    assert row is not None  # noqa: S101 - RETURNING always yields the row
    return row


async def get_connector(*, conn: Conn, ref: str) -> ConnectorRow | None:
    """By id or by name."""
    async with _typed(conn, ConnectorRow) as cur:
        try:
            await cur.execute("SELECT * FROM knowledge.connectors WHERE id = %s", (uuid.UUID(ref),))
        except ValueError:
            await cur.execute("SELECT * FROM knowledge.connectors WHERE name = %s", (ref,))
        return await cur.fetchone()


async def list_connectors(*, conn: Conn, collections: list[str] | None) -> list[ConnectorRow]:
    """Every connector, or those writing into `collections`."""
    async with _typed(conn, ConnectorRow) as cur:
        if collections is None:
            await cur.execute("SELECT * FROM knowledge.connectors ORDER BY name")
        else:
            await cur.execute("SELECT * FROM knowledge.connectors WHERE collection = ANY(%s) ORDER BY name",
                              (collections,))
        return await cur.fetchall()


async def delete_connector(*, conn: Conn, connector_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM knowledge.connectors WHERE id = %s", (connector_id,))


async def request_sync(*, conn: Conn, connector_id: uuid.UUID, by: str | None) -> None:
    """Due now; `by` names who asked (none: a resume after an interruption)."""
    await conn.execute("UPDATE knowledge.connectors SET next_sync_at = now(), requested_by = coalesce(%s, "
                       "requested_by), updated_at = now() WHERE id = %s", (by, connector_id))


async def claim_due(*, conn: Conn, lease_seconds: float) -> ConnectorRow | None:
    """The connector whose sync is due longest, leased to this worker for `lease_seconds` (another
    worker skips it; a worker that dies lets the lease run out and the sync is taken up again)."""
    async with _typed(conn, ConnectorRow) as cur:
        await cur.execute(
            """UPDATE knowledge.connectors SET lease_until = now() + make_interval(secs => %s)
               WHERE id = (SELECT id FROM knowledge.connectors
                           WHERE next_sync_at <= now() AND (lease_until IS NULL OR lease_until < now())
                           ORDER BY next_sync_at LIMIT 1 FOR UPDATE SKIP LOCKED)
               RETURNING *""", (lease_seconds,))
        return await cur.fetchone()


async def extend_lease(*, conn: Conn, connector_id: uuid.UUID, lease_seconds: float) -> None:
    await conn.execute("UPDATE knowledge.connectors SET lease_until = now() + make_interval(secs => %s) "
                       "WHERE id = %s", (lease_seconds, connector_id))


async def release(*, conn: Conn, connector_id: uuid.UUID, every_seconds: int | None) -> None:
    """The sync ended: the lease is given back and the next sync scheduled (none without a schedule,
    unless one was requested while this one ran)."""
    await conn.execute(
        """UPDATE knowledge.connectors SET lease_until = NULL,
               requested_by = CASE WHEN next_sync_at > started.at THEN requested_by END,
               next_sync_at = CASE WHEN next_sync_at > started.at THEN next_sync_at
                                   WHEN %s::integer IS NULL THEN NULL
                                   ELSE now() + make_interval(secs => %s::integer) END
           FROM (SELECT coalesce(max(started_at), now()) AS at FROM knowledge.connector_runs
                 WHERE connector_id = %s) AS started
           WHERE id = %s""", (every_seconds, every_seconds, connector_id, connector_id))


async def items(*, conn: Conn, connector_id: uuid.UUID) -> dict[str, ItemRow]:
    async with _typed(conn, ItemRow) as cur:
        await cur.execute("SELECT * FROM knowledge.connector_items WHERE connector_id = %s", (connector_id,))
        return {r.item: r for r in await cur.fetchall()}


async def put_item(*, conn: Conn, connector_id: uuid.UUID, item: str, version: str,
                   document_ids: list[str]) -> None:
    await conn.execute(
        """INSERT INTO knowledge.connector_items (connector_id, item, version, document_ids)
           VALUES (%s, %s, %s, %s)
           ON CONFLICT (connector_id, item) DO UPDATE SET version = EXCLUDED.version,
               document_ids = EXCLUDED.document_ids, synced_at = now()""",
        (connector_id, item, version, [uuid.UUID(d) for d in document_ids]))


async def drop_item(*, conn: Conn, connector_id: uuid.UUID, item: str) -> None:
    await conn.execute("DELETE FROM knowledge.connector_items WHERE connector_id = %s AND item = %s",
                       (connector_id, item))


async def start_run(*, conn: Conn, connector_id: uuid.UUID, requested_by: str | None) -> RunRow:
    """A new run (manual when someone asked for it, else scheduled); a run this connector left
    'running' (its worker died) is marked interrupted."""
    await conn.execute("UPDATE knowledge.connector_runs SET state = 'interrupted', finished_at = now() "
                       "WHERE connector_id = %s AND state = 'running'", (connector_id,))
    async with _typed(conn, RunRow) as cur:
        await cur.execute("INSERT INTO knowledge.connector_runs (id, connector_id, trigger, requested_by, state) "
                          "VALUES (%s, %s, %s, %s, 'running') RETURNING *",
                          (uuid.uuid4(), connector_id, "manual" if requested_by else "schedule", requested_by))
        row = await cur.fetchone()
    assert row is not None  # noqa: S101
    return row


async def update_run(*, conn: Conn, run_id: uuid.UUID, counts: dict[str, int], errors: list[dict[str, str]],
                     state: str = "running", error: str | None = None) -> None:
    await conn.execute(
        """UPDATE knowledge.connector_runs SET seen = %s, added = %s, changed = %s, unchanged = %s, deleted = %s,
               failed = %s, errors = %s, state = %s, error = %s,
               finished_at = CASE WHEN %s = 'running' THEN NULL ELSE now() END
           WHERE id = %s""",
        (counts["seen"], counts["added"], counts["changed"], counts["unchanged"], counts["deleted"],
         counts["failed"], Jsonb(errors), state, error, state, run_id))


async def runs(*, conn: Conn, connector_id: uuid.UUID, limit: int) -> list[RunRow]:
    async with _typed(conn, RunRow) as cur:
        await cur.execute("SELECT * FROM knowledge.connector_runs WHERE connector_id = %s "
                          "ORDER BY started_at DESC LIMIT %s", (connector_id, limit))
        return await cur.fetchall()
