"""Traces, the reasoning service's episodic memory: where they are kept (`TraceStore`, with its
PostgreSQL implementation) and how one is written while a question is answered
(`TraceRecorder`: steps numbered in the order they finish, each streamed as it happens)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from sutazai.lib.db import Database
from sutazai.reasoning.answers import Answer
from sutazai.reasoning.planning import Plan
from sutazai.reasoning.steps import StepRecord
from sutazai.reasoning.store import traces

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]


class EventPublisher(Protocol):
    async def publish(self, stream: str, event_type: str, data: dict[str, Any]) -> str: ...


class TraceStore(Protocol):
    async def start(self, *, trace_id: uuid.UUID, subject: str, question: str, collection: str | None,
                    options: dict[str, Any], request_id: str | None, replay_of: uuid.UUID | None) -> None: ...

    async def set_plan(self, *, trace_id: uuid.UUID, plan: dict[str, Any]) -> None: ...

    async def add_step(self, *, trace_id: uuid.UUID, seq: int, step: StepRecord) -> None: ...

    async def finish(self, *, trace_id: uuid.UUID, status: str, answer: str | None, error: str | None,
                     **outcome: Any) -> None:
        """Close the trace; `outcome` may carry confidence, abstained, reason, citations, claims, spend,
        assessment."""

    async def get(self, *, trace_id: uuid.UUID) -> dict[str, Any] | None: ...


class StoredTraces:
    """TraceStore over PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self, *, trace_id: uuid.UUID, subject: str, question: str, collection: str | None,
                    options: dict[str, Any], request_id: str | None, replay_of: uuid.UUID | None) -> None:
        async with self._db.connection() as conn:
            await traces.insert_trace(conn=conn, trace_id=trace_id, subject=subject, question=question,
                                      collection=collection, options=options, request_id=request_id,
                                      replay_of=replay_of)

    async def set_plan(self, *, trace_id: uuid.UUID, plan: dict[str, Any]) -> None:
        async with self._db.connection() as conn:
            await traces.set_plan(conn=conn, trace_id=trace_id, plan=plan)

    async def add_step(self, *, trace_id: uuid.UUID, seq: int, step: StepRecord) -> None:
        async with self._db.connection() as conn:
            await traces.insert_step(
                conn=conn, trace_id=trace_id, seq=seq, step_id=step.id, kind=step.kind, tool=step.tool,
                purpose=step.purpose, depends_on=list(step.depends_on), status=step.status, input=step.input,
                output=step.output, error=step.error, model=step.model, model_digest=step.model_digest,
                prompt_tokens=step.prompt_tokens,
                completion_tokens=step.completion_tokens, latency_ms=step.latency_ms, started_at=step.started_at)

    async def finish(self, *, trace_id: uuid.UUID, status: str, answer: str | None, error: str | None,
                     **outcome: Any) -> None:
        async with self._db.connection() as conn:
            await traces.finish_trace(conn=conn, trace_id=trace_id, status=status, answer=answer, error=error,
                                      **outcome)

    async def get(self, *, trace_id: uuid.UUID) -> dict[str, Any] | None:
        async with self._db.connection() as conn:
            return await traces.get_trace(conn=conn, trace_id=trace_id)


class TraceRecorder:
    """One trace being written: numbers steps in the order they finish and streams events."""

    def __init__(self, store: TraceStore, trace_id: uuid.UUID, emit: Emit, *, listened: bool = False) -> None:
        self._store, self.trace_id, self._emit = store, trace_id, emit
        self.listened = listened
        """whether someone reads the events as they come (then the answer is also sent as it is written)"""
        self._seq = 0
        self.steps: list[dict[str, Any]] = []
        """what the monitors see of each step: tool, status, latency, model, and for a search whether it
        found anything"""

    async def plan(self, plan: Plan, tools: Mapping[str, Any], *, started: dt.datetime, clock: float) -> Plan:
        """Validate the plan against the tools, store it and record it as the 'plan' step."""
        plan.validate(tools)
        stored = plan.to_dict(tools)
        record = StepRecord(id="plan", kind="plan", tool="planner", depends_on=(),
                            purpose=f"decompose the question ({plan.strategy})", input={"planner": "rules"},
                            output=stored, started_at=started, latency_ms=(time.perf_counter() - clock) * 1000)
        await self._store.set_plan(trace_id=self.trace_id, plan=stored)
        await self.record(record)
        await self._emit("plan", stored)
        return plan

    async def record(self, step: StepRecord) -> None:
        self._seq += 1
        seen: dict[str, Any] = {"tool": step.tool, "status": step.status, "latency_ms": round(step.latency_ms, 1),
                                "model": step.model}
        if step.tool == "search" and step.status == "ok":
            seen["found"] = len((step.output or {}).get("passages") or [])
        self.steps.append(seen)
        await self._store.add_step(trace_id=self.trace_id, seq=self._seq, step=step)
        await self._emit("step", {"seq": self._seq, **step.to_event()})

    async def draft(self, step_id: str, delta: str) -> None:
        """Send the next characters of the answer as step `step_id` writes it; not stored (the
        step's output and the trace's answer are)."""
        await self._emit("draft", {"step": step_id, "delta": delta})

    async def fail(self, *, status: str, error: str | None, spend: dict[str, Any]) -> None:
        await self._store.finish(trace_id=self.trace_id, status=status, answer=None, error=error, spend=spend)
        await self._emit("error", {"status": status, "detail": error})

    async def conclude(self, answer: Answer) -> None:
        """Store the answer as the trace's outcome and stream it."""
        await self._store.finish(
            trace_id=self.trace_id, status="abstained" if answer.abstained else "answered", answer=answer.answer,
            error=None, confidence=answer.confidence, abstained=answer.abstained, reason=answer.reason,
            citations=answer.citations, claims=answer.claims, spend=answer.spent, assessment=answer.assessment)
        await self._emit("answer", answer.to_dict())


def completed_event(answer: Answer, recorder: TraceRecorder, collection: str | None) -> dict[str, Any]:
    """The `trace.completed` event the metacognition service's monitors consume."""
    searches = [s for s in recorder.steps if s["tool"] == "search" and s["status"] == "ok"]
    return {"trace_id": str(answer.trace_id), "abstained": answer.abstained, "confidence": answer.confidence,
            "collection": collection, "models": sorted({str(s["model"]) for s in recorder.steps if s["model"]}),
            "steps": recorder.steps, "empty_retrieval": bool(searches) and not any(s["found"] for s in searches)}


def trace_differences(original: dict[str, Any], again: dict[str, Any]) -> list[str]:
    """What differs between two traces of the same question, step by step."""
    found = []
    if original["answer"] != again["answer"]:
        found.append(f"answer: {original['answer']!r} became {again['answer']!r}")
    before = {s["step_id"]: s for s in original["steps"]}
    after = {s["step_id"]: s for s in again["steps"]}
    for step_id in sorted(set(before) | set(after)):
        a, b = before.get(step_id), after.get(step_id)
        if a is None or b is None:
            found.append(f"step {step_id} is only in the {'replay' if a is None else 'original'}")
            continue
        for key in ("tool", "status", "input", "output", "error"):
            if a[key] != b[key]:
                found.append(f"step {step_id} ({a['tool']}): {key} differs")
    return found
