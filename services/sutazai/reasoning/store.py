"""All SQL of the reasoning service: traces and their steps."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

Conn = AsyncConnection[dict[str, Any]]


async def insert_trace(
    *, conn: Conn, trace_id: uuid.UUID, subject: str, question: str, collection: str | None,
    options: dict[str, Any], request_id: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO reasoning.traces (id, subject, question, collection, options, status, request_id)
           VALUES (%s, %s, %s, %s, %s::jsonb, 'running', %s)""",
        (trace_id, subject, question, collection, json.dumps(options), request_id),
    )


async def insert_step(
    *, conn: Conn, trace_id: uuid.UUID, seq: int, kind: str, tool: str, input: dict[str, Any],
    output: dict[str, Any] | None, error: str | None, model: str | None, prompt_tokens: int,
    completion_tokens: int, latency_ms: float, started_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO reasoning.trace_steps (trace_id, seq, kind, tool, input, output, error, model,
               prompt_tokens, completion_tokens, latency_ms, started_at)
           VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s, %s, %s, %s)""",
        (trace_id, seq, kind, tool, json.dumps(input),
         json.dumps(output) if output is not None else None, error, model, prompt_tokens,
         completion_tokens, latency_ms, started_at),
    )


async def finish_trace(
    *, conn: Conn, trace_id: uuid.UUID, status: str, answer: str | None, error: str | None
) -> None:
    await conn.execute(
        """UPDATE reasoning.traces SET status = %s, answer = %s, error = %s, finished_at = now()
           WHERE id = %s""",
        (status, answer, error, trace_id),
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
