"""Reasoning domain logic. At this stage a question is answered by the local model in one
recorded step; planning, tools and verification build on the same trace model."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sutazai.lib.bus import EventBus
from sutazai.lib.context import current_request_id
from sutazai.lib.db import Database
from sutazai.lib.errors import Forbidden, NotFound, SutazaiError, ValidationFailed
from sutazai.lib.models import ChatMessage, ModelBackend
from sutazai.lib.security import Principal, Role
from sutazai.reasoning import store

TRACE_STREAM = "reasoning.traces"


@dataclass(frozen=True)
class AskOptions:
    temperature: float = 0.0
    max_tokens: int = 256
    seed: int | None = 0


@dataclass(frozen=True)
class Answer:
    trace_id: uuid.UUID
    answer: str
    model: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    confidence: float | None = None
    abstained: bool = False
    reason: str | None = None


class Reasoner:
    """Answers questions and records every step as a trace."""

    def __init__(
        self, *, db: Database, model: ModelBackend, bus: EventBus, system_prompt: str,
        max_question_chars: int, max_tokens_cap: int,
    ) -> None:
        self._db, self._model, self._bus = db, model, bus
        self._system_prompt, self._max_chars = system_prompt, max_question_chars
        self._max_tokens_cap = max_tokens_cap

    def _validate(self, question: str, principal: Principal, collection: str | None) -> str:
        text = question.strip()
        if not text:
            raise ValidationFailed("question is empty; send the text you want answered")
        if len(text) > self._max_chars:
            raise ValidationFailed(
                f"question is {len(text)} characters; the limit is {self._max_chars}"
            )
        if collection and principal.collections and collection not in principal.collections:
            raise Forbidden(f"your credential may not use collection {collection!r}")
        return text

    async def ask(
        self, *, question: str, principal: Principal, collection: str | None, options: AskOptions
    ) -> Answer:
        text = self._validate(question, principal, collection)
        if options.max_tokens > self._max_tokens_cap:
            options = AskOptions(options.temperature, self._max_tokens_cap, options.seed)
        trace_id = uuid.uuid4()
        async with self._db.connection() as conn:
            await store.insert_trace(
                conn=conn, trace_id=trace_id, subject=principal.subject, question=text,
                collection=collection, options=options.__dict__, request_id=current_request_id(),
            )
        messages = [ChatMessage("system", self._system_prompt), ChatMessage("user", text)]
        started, clock = datetime.now(UTC), time.perf_counter()
        step_input = {"messages": [m.__dict__ for m in messages], **options.__dict__}
        try:
            result = await self._model.chat(
                messages, temperature=options.temperature, max_tokens=options.max_tokens,
                seed=options.seed,
            )
        except SutazaiError as exc:
            await self._record_failure(trace_id, step_input, started, clock, exc)
            raise
        latency = (time.perf_counter() - clock) * 1000
        async with self._db.connection() as conn, conn.transaction():
            await store.insert_step(
                conn=conn, trace_id=trace_id, seq=1, kind="synthesize", tool="model",
                input=step_input, output={"text": result.text, "finish_reason": result.finish_reason},
                error=None, model=result.model, prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens, latency_ms=latency, started_at=started,
            )
            await store.finish_trace(conn=conn, trace_id=trace_id, status="answered",
                                     answer=result.text, error=None)
        await self._bus.publish(TRACE_STREAM, "trace.completed",
                                {"trace_id": str(trace_id), "status": "answered"})
        return Answer(trace_id=trace_id, answer=result.text, model=result.model)

    async def _record_failure(
        self, trace_id: uuid.UUID, step_input: dict[str, Any], started: datetime, clock: float,
        exc: SutazaiError,
    ) -> None:
        async with self._db.connection() as conn, conn.transaction():
            await store.insert_step(
                conn=conn, trace_id=trace_id, seq=1, kind="synthesize", tool="model",
                input=step_input, output=None, error=exc.detail, model=self._model.chat_model,
                prompt_tokens=0, completion_tokens=0,
                latency_ms=(time.perf_counter() - clock) * 1000, started_at=started,
            )
            await store.finish_trace(conn=conn, trace_id=trace_id, status="failed", answer=None,
                                     error=exc.detail)

    async def trace(self, *, trace_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
        async with self._db.connection() as conn:
            found = await store.get_trace(conn=conn, trace_id=trace_id)
        if found is None or (principal.role is not Role.admin and found["subject"] != principal.subject):
            raise NotFound(f"no trace {trace_id}")
        return found
