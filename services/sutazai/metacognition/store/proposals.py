"""SQL of improvement proposals."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from sutazai.metacognition.store import Conn, typed


@dataclass(frozen=True)
class ProposalRow:
    """A bounded change to the settings this service governs, and what was decided about it."""

    id: uuid.UUID
    kind: str
    change: dict[str, Any]
    evidence: dict[str, Any]
    rationale: str
    source: str
    status: str
    """pending | approved | rejected | applied | superseded | failed"""
    created_by: str
    created_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str | None
    applied_version: int | None


@dataclass(frozen=True)
class SettingsVersionRow:
    """One version of the settings in force (the newest is the one in force)."""

    version: int
    settings: dict[str, Any]
    proposal_id: uuid.UUID | None
    restored_from: int | None
    actor: str
    reason: str
    created_at: dt.datetime




async def insert(*, conn: Conn, kind: str, change: dict[str, Any], evidence: dict[str, Any], rationale: str,
                 source: str, created_by: str) -> ProposalRow:
    """A new pending proposal; older pending proposals of the same kind are superseded by it."""
    await conn.execute("UPDATE metacognition.proposals SET status = 'superseded', decided_at = now() "
                       "WHERE kind = %s AND status = 'pending'", (kind,))
    cur = await typed(conn, ProposalRow).execute(
        """INSERT INTO metacognition.proposals (id, kind, change, evidence, rationale, source, created_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *""",
        (uuid.uuid4(), kind, Jsonb(change), Jsonb(evidence), rationale, source, created_by))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - RETURNING yields the row
    return row


async def get(*, conn: Conn, proposal_id: uuid.UUID) -> ProposalRow | None:
    cur = await typed(conn, ProposalRow).execute("SELECT * FROM metacognition.proposals WHERE id = %s", (proposal_id,))
    return await cur.fetchone()


async def recent(*, conn: Conn, status: str | None, limit: int) -> list[ProposalRow]:
    cur = await typed(conn, ProposalRow).execute(
        "SELECT * FROM metacognition.proposals WHERE %s::text IS NULL OR status = %s "
        "ORDER BY created_at DESC LIMIT %s", (status, status, limit))
    return await cur.fetchall()


async def lock(*, conn: Conn, proposal_id: uuid.UUID) -> ProposalRow | None:
    """The proposal, locked until the transaction ends (two admins deciding at once queue here)."""
    cur = await typed(conn, ProposalRow).execute("SELECT * FROM metacognition.proposals WHERE id = %s FOR UPDATE",
                                         (proposal_id,))
    return await cur.fetchone()


async def decide(*, conn: Conn, proposal_id: uuid.UUID, status: str, decided_by: str,
                 note: str | None) -> ProposalRow:
    cur = await typed(conn, ProposalRow).execute(
        """UPDATE metacognition.proposals SET status = %s, decided_by = %s, decided_at = now(), decision_note = %s
           WHERE id = %s RETURNING *""", (status, decided_by, note, proposal_id))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - locked above
    return row


async def mark(*, conn: Conn, proposal_id: uuid.UUID, status: str, applied_version: int | None = None,
               note: str | None = None) -> ProposalRow:
    cur = await typed(conn, ProposalRow).execute(
        """UPDATE metacognition.proposals SET status = %s, applied_version = coalesce(%s, applied_version),
               decision_note = coalesce(%s, decision_note) WHERE id = %s RETURNING *""",
        (status, applied_version, note, proposal_id))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - the proposal exists
    return row


async def newest_version(*, conn: Conn) -> SettingsVersionRow | None:
    cur = await typed(conn, SettingsVersionRow).execute(
        "SELECT * FROM metacognition.settings_versions ORDER BY version DESC LIMIT 1")
    return await cur.fetchone()


async def version(*, conn: Conn, number: int) -> SettingsVersionRow | None:
    cur = await typed(conn, SettingsVersionRow).execute(
        "SELECT * FROM metacognition.settings_versions WHERE version = %s", (number,))
    return await cur.fetchone()


async def versions(*, conn: Conn, limit: int) -> list[SettingsVersionRow]:
    cur = await typed(conn, SettingsVersionRow).execute(
        "SELECT * FROM metacognition.settings_versions ORDER BY version DESC LIMIT %s",
        (limit,))
    return await cur.fetchall()


async def insert_version(*, conn: Conn, settings: dict[str, Any], proposal_id: uuid.UUID | None,
                         restored_from: int | None, actor: str, reason: str) -> SettingsVersionRow:
    cur = await typed(conn, SettingsVersionRow).execute(
        """INSERT INTO metacognition.settings_versions (settings, proposal_id, restored_from, actor, reason)
           VALUES (%s, %s, %s, %s, %s) RETURNING *""",
        (Jsonb(settings), proposal_id, restored_from, actor, reason))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - RETURNING yields the row
    return row
