"""Reasoning domain logic: plan, act with tools, vote over samples, verify claims, answer or
abstain, and record every step of it as a trace that can be read back and replayed."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sutazai.lib.bus import EventBus
from sutazai.lib.context import current_request_id
from sutazai.lib.db import Database
from sutazai.lib.errors import (
    BudgetExhausted,
    DependencyUnavailable,
    Forbidden,
    ModelUnavailable,
    NotFound,
    SutazaiError,
    ValidationFailed,
)
from sutazai.lib.security import Principal, Role
from sutazai.reasoning import store
from sutazai.reasoning.consistency import Vote, normalize_number, vote
from sutazai.reasoning.executor import Budget, Executor, StepRecord
from sutazai.reasoning.planning import Plan, PlannedStep, PlanRequest, asks_quantity, rules_plan
from sutazai.reasoning.routing import ModelRouter
from sutazai.reasoning.tools import Tool, ToolContext, ToolFailed
from sutazai.reasoning.tools.knowledge import KnowledgeClient, Passage
from sutazai.reasoning.tools.modeltools import numbers_in

TRACE_STREAM = "reasoning.traces"
_COLLECTION = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
Emit = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class AskOptions:
    temperature: float = 0.0
    seed: int = 0
    samples: int | None = None
    abstain_below: float | None = None
    max_steps: int | None = None
    max_tokens: int | None = None
    max_seconds: float | None = None
    today: str | None = None


@dataclass(frozen=True)
class Policy:
    samples: int
    sample_temperature: float
    abstain_below: float
    default: Budget
    limit: Budget
    max_question_chars: int

    def budget(self, options: AskOptions) -> Budget:
        return Budget(
            max_steps=min(options.max_steps or self.default.max_steps, self.limit.max_steps),
            max_tokens=min(options.max_tokens or self.default.max_tokens, self.limit.max_tokens),
            max_seconds=min(options.max_seconds or self.default.max_seconds, self.limit.max_seconds),
        )


@dataclass
class Answer:
    trace_id: uuid.UUID
    answer: str
    model: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    confidence: float | None = None
    abstained: bool = False
    reason: str | None = None
    claims: list[dict[str, Any]] = field(default_factory=list)
    budget: dict[str, Any] = field(default_factory=dict)
    spent: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["trace_id"] = str(self.trace_id)
        return data


@dataclass
class _Outcome:
    """What the steps produced, before verification."""

    text: str | None = None
    vote: Vote = field(default_factory=Vote)
    passages: list[Passage] = field(default_factory=list)
    cited: list[str] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    failure: str | None = None


async def _no_emit(kind: str, data: dict[str, Any]) -> None:  # noqa: ARG001
    return None


class Reasoner:
    """Answers questions with a plan of tool steps and records everything as a trace."""

    def __init__(self, *, db: Database, router: ModelRouter, bus: EventBus, tools: dict[str, Tool],
                 knowledge: KnowledgeClient, policy: Policy, max_tokens_cap: int = 1024) -> None:
        self._db, self._router, self._bus, self._tools = db, router, bus, tools
        self._knowledge, self._policy = knowledge, policy
        self.max_tokens_cap = max_tokens_cap

    @property
    def router(self) -> ModelRouter:
        return self._router

    def check_question(self, question: str) -> str:
        """The question stripped, or ValidationFailed when it is empty or too long."""
        text = question.strip()
        if not text:
            raise ValidationFailed("question is empty; send the text you want answered")
        if len(text) > self._policy.max_question_chars:
            raise ValidationFailed(
                f"question is {len(text)} characters; the limit is {self._policy.max_question_chars}. "
                "Shorten it or split it into several questions")
        return text

    async def check(self, *, question: str, principal: Principal, collection: str | None,
                    credential: str | None) -> None:
        """Refuse a request that cannot run (bad question or collection) before anything starts."""
        self.check_question(question)
        await self._knowledge_for(principal, credential, collection)

    async def _knowledge_for(self, principal: Principal, credential: str | None,
                             collection: str | None) -> tuple[str | None, bool]:
        """(collection to search, whether it holds documents); unknown collections are refused."""
        if collection is not None:
            if not _COLLECTION.match(collection):
                raise ValidationFailed("collection names are 1-63 lower-case letters, digits, '-' or '_'")
            if principal.collections and collection not in principal.collections:
                raise Forbidden(f"your credential may not use collection {collection!r}")
        if credential is None:
            return collection, False
        try:
            known = {c["name"]: c["documents"] for c in await self._knowledge.collections(credential)}
        except (ToolFailed, DependencyUnavailable) as exc:
            if collection is not None:
                raise DependencyUnavailable(f"the knowledge service cannot be reached to search {collection!r}: "
                                            f"{exc}") from exc
            return None, False
        if collection is not None and collection not in known:
            listed = ", ".join(sorted(known)) or "none yet"
            raise NotFound(f"unknown collection {collection!r}; collections you can use: {listed}")
        name = collection or (principal.collections[0] if principal.collections else "default")
        return name, known.get(name, 0) > 0

    async def ask(self, *, question: str, principal: Principal, collection: str | None, options: AskOptions,
                  credential: str | None = None, emit: Emit = _no_emit,
                  replay_of: uuid.UUID | None = None) -> Answer:
        """Answer `question` (or abstain), recording the trace; see the module docstring."""
        text = self.check_question(question)
        searched, has_knowledge = await self._knowledge_for(principal, credential, collection)
        budget = self._policy.budget(options)
        options = replace(options, today=options.today or dt.date.today().isoformat(),
                          samples=options.samples or self._policy.samples,
                          abstain_below=self._policy.abstain_below if options.abstain_below is None
                          else options.abstain_below)
        trace_id = uuid.uuid4()
        stored = {**asdict(options), "budget": asdict(budget)}
        async with self._db.connection() as conn:
            await store.insert_trace(conn=conn, trace_id=trace_id, subject=principal.subject, question=text,
                                     collection=collection, options=stored, request_id=current_request_id(),
                                     replay_of=replay_of)
        await emit("trace", {"trace_id": str(trace_id), "budget": asdict(budget)})
        run = _Run(self._db, trace_id, emit)
        executor = Executor(tools=self._tools, budget=budget, recorder=run.record,
                            context=lambda allowance: ToolContext(
                                collection=searched, credential=credential,
                                today=dt.date.fromisoformat(str(options.today)), max_tokens=allowance))
        try:
            answer = await self._answer(run, executor, text, has_knowledge, options, budget)
        except ModelUnavailable as exc:
            await run.finish(status="failed", error=exc.detail, spend=executor.spend.to_dict())
            exc.extra["trace_id"] = str(trace_id)
            raise
        await self._bus.publish(TRACE_STREAM, "trace.completed",
                                {"trace_id": str(trace_id), "abstained": answer.abstained})
        return answer

    async def _answer(self, run: _Run, executor: Executor, text: str, has_knowledge: bool,
                      options: AskOptions, budget: Budget) -> Answer:
        request = PlanRequest(question=text, has_knowledge=has_knowledge, samples=int(options.samples or 1),
                              temperature=options.temperature, sample_temperature=self._policy.sample_temperature,
                              seed=options.seed)
        plan = await run.plan(rules_plan(request), self._tools)
        records = await executor.run(plan)
        outcome = _outcome(plan, records, numeric=asks_quantity(text))
        if outcome.text is None:
            reason = outcome.failure or "no step produced an answer"
            if executor.spend.exhausted:
                await run.finish(status="exhausted", error=executor.spend.exhausted, spend=executor.spend.to_dict())
                raise BudgetExhausted(
                    f"the budget ran out before an answer was reached ({executor.spend.exhausted}); raise "
                    f"options.budget (this service allows up to {self._policy.limit.max_steps} steps, "
                    f"{self._policy.limit.max_tokens} tokens, {self._policy.limit.max_seconds:g} s)",
                    extra={"trace_id": str(run.trace_id), "spent": executor.spend.to_dict()})
            return await run.conclude(Answer(
                trace_id=run.trace_id, answer=f"I don't know. {reason}.", model=self._router.default.chat_model,
                confidence=0.0, abstained=True, reason=reason, budget=asdict(budget),
                spent=executor.spend.to_dict()))
        verify = PlannedStep(f"s{len(plan.steps) + 1}", "verify", {
            "answer": outcome.text, "passages": [p.model_dump() for p in outcome.passages],
            "computed": list(dict.fromkeys(outcome.computed + numbers_in(text))),
            "question": text if plan.strategy == "answer" else None},
            purpose="check every claim of the answer against the sources")
        checked = await executor.run_single(verify, {})
        return await run.conclude(self._decide(run.trace_id, outcome, checked, options, budget, executor))

    def _decide(self, trace_id: uuid.UUID, outcome: _Outcome, checked: StepRecord, options: AskOptions,
                budget: Budget, executor: Executor) -> Answer:
        claims: list[dict[str, Any]] = (checked.output or {}).get("claims", [])
        supported = (checked.output or {}).get("supported_fraction")
        if not outcome.passages and not outcome.computed:
            claims, supported = [], None  # nothing was consulted that a claim could be checked against
        if outcome.computed and outcome.cited:  # a computed answer rests on the passages its values came from
            claims = [{**c, "chunk_ids": [i for i in c["chunk_ids"] if i in outcome.cited]} for c in claims]
        agreement = outcome.vote.agreement
        confidence = round(agreement * (supported if supported is not None else 1.0), 3)
        threshold = float(options.abstain_below or 0.0)
        by_chunk = {p.chunk_id: p for p in outcome.passages}
        order = list(dict.fromkeys([c for claim in claims for c in claim["chunk_ids"]]
                                   + (outcome.cited if outcome.computed else [])))
        citations = [{"document_id": by_chunk[c].document_id, "chunk_id": c, "text": by_chunk[c].text,
                      "source": by_chunk[c].source}
                     for c in order if c in by_chunk]
        text = _annotate(outcome.text or "", claims, order)
        model = self._router("synthesize").chat_model
        base = Answer(trace_id=trace_id, answer=text, model=model, citations=citations, confidence=confidence,
                      claims=claims, budget=asdict(budget), spent=executor.spend.to_dict())
        if confidence >= threshold:
            return base
        why = [f"{outcome.vote.votes} of {outcome.vote.samples} samples agreed"]
        if supported is not None and supported < 1:
            why.append(f"{round(supported * 100)}% of the answer's claims are supported by the sources")
        reason = f"confidence {confidence:.2f} is below {threshold:.2f}: " + "; ".join(why)
        return replace(base, answer=f"I don't know. {reason}.", abstained=True, reason=reason)

    async def trace(self, *, trace_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
        async with self._db.connection() as conn:
            found = await store.get_trace(conn=conn, trace_id=trace_id)
        if found is None or (principal.role is not Role.admin and found["subject"] != principal.subject):
            raise NotFound(f"no trace {trace_id}")
        return found

    async def replay(self, *, trace_id: uuid.UUID, principal: Principal, credential: str | None) -> dict[str, Any]:
        """Run a stored question again with the same options (temperature 0 unless the trace
        said otherwise, same seeds, same reference date) and compare step by step."""
        original = await self.trace(trace_id=trace_id, principal=principal)
        stored = {k: v for k, v in original["options"].items() if k in AskOptions.__dataclass_fields__}
        budget = original["options"].get("budget") or {}
        options = replace(AskOptions(**stored), max_steps=budget.get("max_steps"),
                          max_tokens=budget.get("max_tokens"), max_seconds=budget.get("max_seconds"))
        answer = await self.ask(question=original["question"], principal=principal,
                                collection=original["collection"], options=options, credential=credential,
                                replay_of=trace_id)
        again = await self.trace(trace_id=answer.trace_id, principal=principal)
        differences = _differences(original, again)
        return {"trace_id": answer.trace_id, "replay_of": trace_id, "reproduced": not differences,
                "differences": differences, "answer": answer.answer}

    async def load_routes(self) -> None:
        async with self._db.connection() as conn:
            saved = await store.list_routes(conn=conn)
        known = set(self._router.models())
        self._router.update({k: v for k, v in saved.items() if v in known})

    async def set_routes(self, *, routes: dict[str, str], actor: str) -> dict[str, str]:
        checked = self._router.check(routes)
        async with self._db.connection() as conn, conn.transaction():
            await store.save_routes(conn=conn, routes=checked, actor=actor)
        self._router.update(checked)
        return self._router.routes()


class _Run:
    """One trace being written: numbers steps in the order they finish and streams events."""

    def __init__(self, db: Database, trace_id: uuid.UUID, emit: Emit) -> None:
        self._db, self.trace_id, self._emit = db, trace_id, emit
        self._seq = 0

    async def plan(self, plan: Plan, tools: dict[str, Tool]) -> Plan:
        started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
        plan.validate(tools)
        record = StepRecord(id="plan", kind="plan", tool="planner", depends_on=(), purpose=
                            f"decompose the question ({plan.strategy})", input={"planner": "rules"},
                            output=plan.to_dict(), started_at=started,
                            latency_ms=(time.perf_counter() - clock) * 1000)
        async with self._db.connection() as conn:
            await store.set_plan(conn=conn, trace_id=self.trace_id, plan=plan.to_dict())
        await self.record(record)
        await self._emit("plan", plan.to_dict())
        return plan

    async def record(self, step: StepRecord) -> None:
        self._seq += 1
        async with self._db.connection() as conn:
            await store.insert_step(
                conn=conn, trace_id=self.trace_id, seq=self._seq, step_id=step.id, kind=step.kind,
                tool=step.tool, purpose=step.purpose, depends_on=list(step.depends_on), status=step.status,
                input=step.input, output=step.output, error=step.error, model=step.model,
                prompt_tokens=step.prompt_tokens, completion_tokens=step.completion_tokens,
                latency_ms=step.latency_ms, started_at=step.started_at)
        await self._emit("step", {"seq": self._seq, **step.to_event()})

    async def finish(self, *, status: str, error: str | None, spend: dict[str, Any]) -> None:
        async with self._db.connection() as conn:
            await store.finish_trace(conn=conn, trace_id=self.trace_id, status=status, answer=None, error=error,
                                     spend=spend)
        await self._emit("error", {"status": status, "detail": error})

    async def conclude(self, answer: Answer) -> Answer:
        async with self._db.connection() as conn:
            await store.finish_trace(
                conn=conn, trace_id=self.trace_id, status="abstained" if answer.abstained else "answered",
                answer=answer.answer, error=None, confidence=answer.confidence, abstained=answer.abstained,
                reason=answer.reason, citations=answer.citations, claims=answer.claims, spend=answer.spent)
        await self._emit("answer", answer.to_dict())
        return answer


def _outcome(plan: Plan, records: dict[str, StepRecord], *, numeric: bool) -> _Outcome:
    """Collect the answer candidates of the plan's final steps and vote on them."""
    by_tool: dict[str, list[StepRecord]] = {}
    for step in plan.steps:
        by_tool.setdefault(step.tool, []).append(records[step.id])
    passages = list({p["chunk_id"]: Passage(**p) for r in by_tool.get("search", []) if r.output
                     for p in r.output["passages"]}.values())
    failure = next((f"{r.tool} failed: {r.error}" for r in records.values() if r.status == "error"), None)
    if "compare" in by_tool:
        return _compared(by_tool, passages, failure)
    if "calculator" in by_tool or "dates" in by_tool:
        return _computed(by_tool, passages, failure)
    if "synthesize" in by_tool:
        samples = by_tool["synthesize"]
        result = vote([r.output["answer"] if r.output else None for r in samples], numeric=numeric)
        outputs = [r.output for r in samples if r.output]
        considered = {p["chunk_id"]: Passage(**p) for o in outputs for p in o["considered"]}
        winner = next((o for o in outputs if o["answer"] == result.winner), None)
        cited = [p["chunk_id"] for p in (winner or {}).get("cited", [])]
        return _Outcome(text=result.winner, vote=result, passages=list(considered.values()) or passages,
                        cited=cited, failure=failure)
    if "extract_value" in by_tool:
        samples = by_tool["extract_value"]
        result = vote([r.output["value"] if r.output else None for r in samples], numeric=True)
        winner = next((r.output for r in samples if r.output and r.output["value"] == result.winner), None)
        if winner is None:
            return _Outcome(vote=result, failure=failure or "no passage states the quantity asked for")
        return _Outcome(text=f"{winner['value']}. The source says: \u201c{winner['quote']}\u201d", vote=result,
                        passages=passages, cited=[winner["chunk_id"]], computed=[str(winner["value"])])
    return _Outcome(failure=failure)


def _compared(by_tool: dict[str, list[StepRecord]], passages: list[Passage], failure: str | None) -> _Outcome:
    (record,) = by_tool["compare"]
    if not record.output:
        return _Outcome(vote=Vote(samples=1), failure=failure)
    extracts = [r.output for r in by_tool.get("extract_value", []) if r.output and r.output["value"]]
    values = record.input["values"]
    sentences = [f"{record.output['choice']}."]
    sentences += [f"The source says: \u201c{e['quote']}\u201d" for e in extracts]
    sentences.append("Compared exactly: " + ", ".join(f"{name} {values[name]}" for name in record.output["ranking"])
                     + ".")
    return _Outcome(text=" ".join(sentences), vote=Vote(winner=record.output["choice"], votes=1, samples=1),
                    passages=passages, cited=[e["chunk_id"] for e in extracts],
                    computed=[str(v) for v in values.values()])


def _computed(by_tool: dict[str, list[StepRecord]], passages: list[Passage], failure: str | None) -> _Outcome:
    if "dates" in by_tool:
        (record,) = by_tool["dates"]
        if not record.output:
            return _Outcome(vote=Vote(samples=1), failure=failure)
        return _Outcome(text=record.output["result"], vote=Vote(winner=record.output["result"], votes=1, samples=1),
                        computed=[str(v) for v in (record.output.get("days"),) if v is not None])
    samples = by_tool["calculator"]
    values = [(r.output.get("value") or r.output["result"]) if r.output else None for r in samples]
    result = vote(values, numeric=True)
    winner = next((r for r, v in zip(samples, values, strict=True) if v == result.winner), None)
    if winner is None or winner.output is None:
        return _Outcome(vote=result, failure=failure)
    extracts = [r for r in by_tool.get("extract_value", []) if r.output and r.output["value"]]
    expression = str(winner.input.get("expression"))
    variables = winner.input.get("variables") or {}
    if variables:
        expression = re.sub(r"\b[a-z]\b", lambda m: str(variables.get(m.group(0), m.group(0))), expression)
    exact = str(winner.output["result"])
    sentences = [f"{result.winner}." if exact == result.winner else f"{result.winner} (exactly {exact})."]
    sentences += [f"The source says: \u201c{r.output['quote']}\u201d" for r in extracts if r.output]
    sentences.append(f"Computed exactly: {expression} = {winner.output['result']}.")
    computed = [normalize_number(str(result.winner)) or str(result.winner), *numbers_in(expression),
                *numbers_in(exact)]
    computed += [str(r.output["value"]) for r in extracts if r.output]
    return _Outcome(text=" ".join(sentences), vote=result, passages=passages,
                    cited=[r.output["chunk_id"] for r in extracts if r.output], computed=computed)


def _annotate(text: str, claims: list[dict[str, Any]], order: list[str]) -> str:
    """The answer with numbered citations after supported sentences and [unsupported] after
    the others; the model's own source numbers are replaced."""
    if not claims:
        return text
    out = _MARKER.sub("", text)
    for claim in claims:
        plain = _MARKER.sub("", claim["text"])
        if claim["supported"]:
            marks = "".join(f"[{order.index(c) + 1}]" for c in claim["chunk_ids"] if c in order)
        else:
            marks = "[unsupported]"
        if marks and plain in out:
            out = out.replace(plain, f"{plain} {marks}", 1)
    return out


def _differences(original: dict[str, Any], again: dict[str, Any]) -> list[str]:
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


def error_payload(exc: SutazaiError) -> dict[str, Any]:
    """How a domain error is streamed to an SSE client."""
    return {"code": exc.code.value, "status": exc.status, "detail": exc.detail, **exc.extra}
