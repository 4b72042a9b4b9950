"""Reasoning domain logic: plan, act with tools, vote over samples, verify claims, answer or
abstain, and record every step of it as a trace that can be read back and replayed. The
pieces live beside it: planning (which strategy, which steps), strategies (reading results),
planner (the plan, in one call), executor (running steps within a budget), decision (citations,
confidence, answer or abstain), trace (recording), configuration (routes, retrieval settings)."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import asdict, replace
from functools import partial
from typing import Any, Protocol

from sutazai.lib.access import Principal
from sutazai.lib.context import current_request_id
from sutazai.lib.errors import (
    BudgetExhausted,
    DependencyUnavailable,
    Forbidden,
    ModelUnavailable,
    NotFound,
    SutazaiError,
    ValidationFailed,
)
from sutazai.reasoning.answers import Answer, AskOptions, Policy
from sutazai.reasoning.assessment import Assessor
from sutazai.reasoning.configuration import AuditRecorder, Configuration
from sutazai.reasoning.decision import Decider, abstention
from sutazai.reasoning.executor import Budget, Executor
from sutazai.reasoning.model_planning import ModelPlanner
from sutazai.reasoning.model_routes import ModelRouter, RouteStore
from sutazai.reasoning.planner import Planner
from sutazai.reasoning.planning import (
    Plan,
    PlannedStep,
    PlanRequest,
    RetrievalSettings,
    wants_sources,
)
from sutazai.reasoning.strategies import Outcome, Synthesized
from sutazai.reasoning.tools import Tool, ToolContext
from sutazai.reasoning.tools.answering import Verify
from sutazai.reasoning.tools.base import Remembered
from sutazai.reasoning.tools.external import ExternalTool
from sutazai.reasoning.tools.modeltools import numbers_in
from sutazai.reasoning.trace import Emit, EventPublisher, TraceRecorder, TraceStore, completed_event, trace_differences

TRACE_STREAM = "reasoning.traces"
__all__ = ["Answer", "AskOptions", "Policy", "Reasoner", "error_payload"]


logger = logging.getLogger(__name__)


class ExternalTools(Protocol):
    """The tools of registered MCP servers an asker may use on a collection (`McpServers`)."""

    async def usable(self, *, by: Principal, collection: str) -> tuple[ExternalTool, ...]: ...


async def _no_emit(kind: str, data: dict[str, Any]) -> None:  # noqa: ARG001
    return None


class Reasoner:
    """Answers questions with a plan of tool steps and records everything as a trace."""

    def __init__(self, *, traces: TraceStore, routes: RouteStore, router: ModelRouter, events: EventPublisher,
                 tools: dict[str, Tool], policy: Policy, max_tokens_cap: int = 1024,
                 planner: ModelPlanner | None = None, audit: AuditRecorder | None = None,
                 assessor: Assessor | None = None, external: ExternalTools | None = None) -> None:
        self._traces, self._routes, self._router, self._events = traces, routes, router, events
        self._external = external
        self._tools, self._policy, self._audit = tools, policy, audit
        self._planner = Planner(tools=tools, model_planner=planner)
        self.configuration = Configuration(routes=routes, router=router, audit=audit)
        self._decider = Decider(assessor)
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

    def check(self, *, question: str, principal: Principal, collection: str | None,
              routes: dict[str, str] | None = None, ensemble: list[str] | None = None) -> str:
        """Refuse a request that cannot run (bad question, bad or forbidden collection, unknown
        route) before anything starts; returns the collection the question will be grounded in.
        Whether the collection exists is the knowledge service's to say, when it is searched."""
        self.check_question(question)
        self._router.check(routes or {})
        self._router.check_models(ensemble or [])
        return principal.collection(collection)

    async def ask(self, *, question: str, principal: Principal, collection: str | None, options: AskOptions,
                  credential: str | None = None, emit: Emit = _no_emit,
                  replay_of: uuid.UUID | None = None) -> Answer:
        """Answer `question` (or abstain), recording the trace; see the module docstring."""
        text = self.check_question(question)
        self._router.check_models(options.ensemble or [])
        with self._router.overriding(options.routes):
            return await self._ask(text, principal=principal, collection=collection, options=options,
                                   credential=credential, emit=emit, replay_of=replay_of)

    async def _ask(self, text: str, *, principal: Principal, collection: str | None, options: AskOptions,
                   credential: str | None, emit: Emit, replay_of: uuid.UUID | None) -> Answer:
        searched = principal.collection(collection)
        budget = self._policy.budget(options)
        explicit_threshold = options.abstain_below  # else the metacognition service's active threshold
        options = replace(options, today=options.today or dt.date.today().isoformat(),
                          samples=options.samples or self._policy.samples,
                          abstain_below=self._policy.abstain_below if options.abstain_below is None
                          else options.abstain_below)
        trace_id = uuid.uuid4()
        await self._traces.start(trace_id=trace_id, subject=principal.subject, question=text, collection=searched,
                                 options={**asdict(options), "budget": asdict(budget)},
                                 request_id=current_request_id(), replay_of=replay_of)
        await emit("trace", {"trace_id": str(trace_id), "budget": asdict(budget)})
        recorder = TraceRecorder(self._traces, trace_id, emit, listened=emit is not _no_emit)
        memory: dict[str, Remembered] = {"held": Remembered()}  # what the recall step found, for later steps
        executor = Executor(tools=self._tools, budget=budget, recorder=recorder.record,
                            context=lambda allowance: ToolContext(
                                collection=searched, credential=credential, named=collection is not None,
                                today=dt.date.fromisoformat(str(options.today)), max_tokens=allowance,
                                memory=memory["held"]))
        try:
            tools = await self._external.usable(by=principal, collection=searched) \
                if self._external is not None and credential is not None else ()
            answer = await self._answer(recorder, executor, text, options, budget, named=collection is not None,
                                        credential=credential, memory=memory, explicit_threshold=explicit_threshold,
                                        tools=tools)
        except (ModelUnavailable, NotFound, Forbidden, DependencyUnavailable) as exc:
            await recorder.fail(status="failed", error=exc.detail, spend=executor.spend.to_dict())
            exc.extra["trace_id"] = str(trace_id)
            raise
        try:
            await self._events.publish(TRACE_STREAM, "trace.completed", completed_event(answer, recorder, searched))
        except DependencyUnavailable as exc:
            # the answer and its trace are stored; only the monitors' event is lost while Redis is down
            logger.warning("trace.completed for %s not published: %s", trace_id, exc.detail)
        return answer

    async def _answer(self, recorder: TraceRecorder, executor: Executor, text: str, options: AskOptions,
                      budget: Budget, *, named: bool, credential: str | None, memory: dict[str, Remembered],
                      explicit_threshold: float | None, tools: tuple[ExternalTool, ...] = ()) -> Answer:
        started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
        request = replace(await self._request(text, options, consult=credential is not None), tools=tools)
        planned = await self._planner.plan(request, executor, consult=credential is not None, named=named,
                                           held=memory)
        plan = await recorder.plan(planned.plan, self._tools, started=started, clock=clock)
        _draft_first_sample(recorder, executor, plan)
        records = await executor.run(plan, done_before=planned.done)
        outcome = plan.reader.read(records) if plan.reader else Outcome(failure="the plan has no strategy")
        if planned.memory.passages:  # approved answers are sources the claims may be checked against
            outcome.passages = list({p.chunk_id: p for p in [*planned.memory.passages, *outcome.passages]}.values())
        if outcome.text is None:
            return await self._abstain(recorder, executor, outcome, budget)
        checked = await executor.run_single(_verification(plan, outcome, text), {})
        model = "+".join(options.ensemble) if options.ensemble else self._router("synthesize").chat_model
        answer = await self._decider.decide(recorder.trace_id, outcome, checked, plan=plan, question=text, model=model,
                                            options=options, budget=budget, spend=executor.spend,
                                            credential=credential, explicit_threshold=explicit_threshold)
        await recorder.conclude(answer)
        return answer

    async def _request(self, text: str, options: AskOptions, *, consult: bool) -> PlanRequest:
        ensemble = tuple(options.ensemble or ())
        retrieval = await self.configuration.retrieval() if consult else RetrievalSettings()
        return PlanRequest(question=text, has_knowledge=consult and wants_sources(text),
                           samples=max(int(options.samples or 1), len(ensemble)), temperature=options.temperature,
                           adaptive_samples=self._policy.adaptive_samples,
                           sample_temperature=self._policy.sample_temperature, seed=options.seed, ensemble=ensemble,
                           retrieval=retrieval)

    async def _abstain(self, recorder: TraceRecorder, executor: Executor, outcome: Outcome, budget: Budget) -> Answer:
        if executor.spend.exhausted:
            await recorder.fail(status="exhausted", error=executor.spend.exhausted, spend=executor.spend.to_dict())
            raise BudgetExhausted(
                f"the budget ran out before an answer was reached ({executor.spend.exhausted}); raise "
                f"options.budget (this service allows up to {self._policy.limit.max_steps} steps, "
                f"{self._policy.limit.max_tokens} tokens, {self._policy.limit.max_seconds:g} s)",
                extra={"trace_id": str(recorder.trace_id), "spent": executor.spend.to_dict()})
        answer = abstention(recorder.trace_id, outcome, model=self._router.default.chat_model, budget=budget,
                            spend=executor.spend)
        await recorder.conclude(answer)
        return answer

    async def trace(self, *, trace_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
        """A trace its asker may read, and an admin whose scope covers the trace's collection;
        anyone else is told it does not exist, as for a trace that does not."""
        found = await self._traces.get(trace_id=trace_id)
        if found is None or not (found["subject"] == principal.subject
                                 or principal.administers([found["collection"]] if found["collection"] else None)):
            raise NotFound(f"no trace {trace_id} that you may read")
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
        differences = trace_differences(original, again)
        return {"trace_id": answer.trace_id, "replay_of": trace_id, "reproduced": not differences,
                "differences": differences, "answer": answer.answer}

def _draft_first_sample(recorder: TraceRecorder, executor: Executor, plan: Plan) -> None:
    """When someone listens, the first sample's answer is sent to them as it is written."""
    if recorder.listened and isinstance(plan.reader, Synthesized) and plan.reader.samples:
        writer = plan.reader.samples[0]
        executor.drafting = (writer, partial(recorder.draft, writer))


def _verification(plan: Plan, outcome: Outcome, question: str) -> PlannedStep:
    """The step that checks every claim of the answer against the sources."""
    return PlannedStep(f"s{len(plan.steps) + 1}", Verify.name, {
        "answer": outcome.text, "passages": [p.model_dump() for p in outcome.passages],
        "computed": list(dict.fromkeys(outcome.computed + numbers_in(question))),
        "question": question if plan.strategy == "answer" else None},
        purpose="check every claim of the answer against the sources")


def error_payload(exc: SutazaiError) -> dict[str, Any]:
    """How a domain error is streamed to an SSE client."""
    return {"code": exc.code.value, "status": exc.status, "detail": exc.detail, **exc.extra}
