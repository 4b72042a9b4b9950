"""SQL of traces (a question, its options and outcome) and their steps."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sutazai.reasoning.store import Conn


async def insert_trace(
    *, conn: Conn, trace_id: uuid.UUID, subject: str, question: str, collection: str | None,
    options: dict[str, Any], request_id: str | None, replay_of: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO reasoning.traces (id, subject, question, collection, options, status, request_id,
               replay_of)
           VALUES (%s, %s, %s, %s, %s::jsonb, 'running', %s, %s)""",
        (trace_id, subject, question, collection, json.dumps(options), request_id, replay_of),
    )


async def set_plan(*, conn: Conn, trace_id: uuid.UUID, plan: dict[str, Any]) -> None:
    await conn.execute("UPDATE reasoning.traces SET plan = %s::jsonb WHERE id = %s", (json.dumps(plan), trace_id))


async def insert_step(
    *, conn: Conn, trace_id: uuid.UUID, seq: int, step_id: str, kind: str, tool: str, purpose: str,
    depends_on: list[str], status: str, input: dict[str, Any], output: dict[str, Any] | None,
    error: str | None, model: str | None, model_digest: str | None, prompt_tokens: int, completion_tokens: int,
    latency_ms: float, started_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO reasoning.trace_steps (trace_id, seq, step_id, kind, tool, purpose, depends_on, status,
               input, output, error, model, model_digest, prompt_tokens, completion_tokens, latency_ms, started_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s, %s, %s, %s, %s)""",
        (trace_id, seq, step_id, kind, tool, purpose, depends_on, status, json.dumps(input),
         json.dumps(output) if output is not None else None, error, model, model_digest, prompt_tokens,
         completion_tokens, latency_ms, started_at),
    )


async def finish_trace(
    *, conn: Conn, trace_id: uuid.UUID, status: str, answer: str | None, error: str | None,
    confidence: float | None = None, abstained: bool = False, reason: str | None = None,
    citations: list[dict[str, Any]] | None = None, claims: list[dict[str, Any]] | None = None,
    spend: dict[str, Any] | None = None, assessment: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        """UPDATE reasoning.traces SET status = %s, answer = %s, error = %s, confidence = %s, abstained = %s,
               reason = %s, citations = %s::jsonb, claims = %s::jsonb, spend = %s::jsonb, assessment = %s::jsonb,
               finished_at = now()
           WHERE id = %s""",
        (status, answer, error, confidence, abstained, reason, json.dumps(citations or []),
         json.dumps(claims or []), json.dumps(spend or {}), None if assessment is None else json.dumps(assessment),
         trace_id),
    )


async def get_trace(*, conn: Conn, trace_id: uuid.UUID) -> dict[str, Any] | None:
    cur = await conn.execute("SELECT * FROM reasoning.traces WHERE id = %s", (trace_id,))
    trace = await cur.fetchone()
    if trace is None:
        return None
    cur = await conn.execute(
        "SELECT * FROM reasoning.trace_steps WHERE trace_id = %s ORDER BY seq", (trace_id,)
    )
    trace["steps"] = await cur.fetchall()
    return trace
