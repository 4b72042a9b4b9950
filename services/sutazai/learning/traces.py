"""What learning may know of a reasoning trace: it asks the reasoning service with the caller's
own credential, so a trace the caller may not read is, to learning too, a trace that does not
exist."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sutazai.lib.clients.reasoning import ReasoningClient
from sutazai.lib.errors import DependencyUnavailable, NotFound, SutazaiError, Unauthenticated

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class TraceRef:
    trace_id: uuid.UUID
    subject: str
    collection: str | None
    question: str = ""
    answer: str | None = None
    abstained: bool = False
    passages: dict[str, dict[str, Any]] = field(default_factory=dict)
    """every passage the answer's steps were shown, by chunk id (chunk_id, document_id, source, text)"""


def passages_in(trace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The passages a trace's steps found or were shown, and its citations, by chunk id."""
    found: dict[str, dict[str, Any]] = {}

    def take(passage: Any) -> None:
        if isinstance(passage, dict) and isinstance(passage.get("chunk_id"), str) and passage.get("text"):
            found.setdefault(passage["chunk_id"], {k: passage.get(k) for k in ("chunk_id", "document_id", "source",
                                                                                "text")})

    for step in trace.get("steps") or []:
        output = step.get("output")
        for name in ("passages", "considered", "cited"):
            found_there = output.get(name) if isinstance(output, dict) else None
            for passage in found_there if isinstance(found_there, list) else []:
                take(passage)
    for citation in trace.get("citations") or []:
        take(citation)
    return found


def work_in(trace: dict[str, Any], answer: str) -> str | None:
    """The work a trace's answer came from: the program whose result was the answer's (first)
    number, or the expression of a formulate step whose calculation gave it."""
    wanted = _NUMBER.findall(answer.replace(",", ""))
    if not wanted:
        return None
    steps = trace.get("steps") or []
    for step in steps:
        out = step.get("output")
        if step.get("tool") == "program" and isinstance(out, dict) and _same_number(str(out.get("result")), wanted[0]):
            return str(out.get("program") or "")[:2000] or None
    written = {s.get("step_id"): (s.get("output") or {}).get("expression") for s in steps
               if s.get("tool") == "formulate" and isinstance(s.get("output"), dict)}
    plan = {p.get("id"): p for p in ((trace.get("plan") or {}).get("steps") or [])}
    for step in steps:
        out = step.get("output")
        if step.get("tool") != "calculator" or not isinstance(out, dict):
            continue
        value = str(out.get("value") or out.get("result") or "")
        if _same_number(value, wanted[0]):
            for source in (plan.get(step.get("step_id")) or {}).get("depends_on") or []:
                if written.get(source):
                    return str(written[source])[:2000]
    return None


def _same_number(a: str, b: str) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-6
    except ValueError:
        return False


class TraceReader:
    """Reads a trace through the reasoning service's HTTP API, as the caller."""

    def __init__(self, client: ReasoningClient) -> None:
        self._client = client

    async def readable(self, *, trace_id: uuid.UUID, credential: str) -> TraceRef:
        """The trace, if it exists and the caller may read it; NotFound otherwise."""
        try:
            trace = await self._client.trace(trace_id, credential=credential)
        except NotFound as exc:
            raise NotFound(f"no trace {trace_id} that you may read; feedback needs the trace id of an "
                           "answer you were given (the `trace_id` of your ask)") from exc
        except (Unauthenticated, DependencyUnavailable):
            raise
        except SutazaiError as exc:
            raise DependencyUnavailable(f"the reasoning service could not give the trace: {exc.detail}") from exc
        body = trace.model_dump(mode="json")
        return TraceRef(trace_id=trace_id, subject=trace.subject, collection=trace.collection,
                        question=trace.question or "", answer=trace.answer, abstained=trace.abstained,
                        passages=passages_in(body))

    async def work(self, *, trace_id: uuid.UUID, credential: str, answer: str) -> str | None:
        """The worked arithmetic of a trace's answer, if the caller may read it and it has one."""
        try:
            trace = await self._client.trace(trace_id, credential=credential)
        except SutazaiError:
            return None
        return work_in(trace.model_dump(mode="json"), answer)
