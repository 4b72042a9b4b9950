"""Reasoning domain logic: plan, act with tools, vote over samples, verify claims, answer or
abstain, and record every step of it as a trace that can be read back and replayed. The
pieces live beside it: planning (which strategy, which steps), strategies (reading results),
executor (running steps within a budget), trace (recording), confidence (the score)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any, Protocol

from sutazai.lib.access import Principal
from sutazai.lib.confidence import AnswerFeatures, Grounding
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
from sutazai.reasoning.answers import Answer, AskOptions
from sutazai.reasoning.assessment import Assessor, assess
from sutazai.reasoning.executor import Budget, Executor, StepRecord
from sutazai.reasoning.model_planning import ModelPlanner, wants_model_plan
from sutazai.reasoning.planning import (
    MAIN_SEARCH,
    Plan,
    PlanInvalid,
    PlannedStep,
    PlanRequest,
    RetrievalSettings,
    answer_kind,
    remembered_plan,
    rules_plan,
    settled,
    wants_sources,
)
from sutazai.reasoning.routing import ModelRouter, RouteStore
from sutazai.reasoning.steps import result_of
from sutazai.reasoning.strategies import NOT_STATED, Outcome, Synthesized
from sutazai.reasoning.tools import Tool, ToolContext
from sutazai.reasoning.tools.answering import Verify, VerifyOutput
from sutazai.reasoning.tools.base import Remembered
from sutazai.reasoning.tools.knowledge import SearchOutput
from sutazai.reasoning.tools.memory import RecallOutput, remembered
from sutazai.reasoning.tools.modeltools import numbers_in
from sutazai.reasoning.trace import Emit, TraceRecorder, TraceStore

TRACE_STREAM = "reasoning.traces"
RECALL = PlannedStep("m1", "recall", {}, purpose="recall approved answers to close questions and passages marked "
                                                 "wrong for them")
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
__all__ = ["Answer", "AskOptions", "Policy", "Reasoner", "error_payload"]


logger = logging.getLogger(__name__)
RETRIEVAL = "retrieval"
"""The name the retrieval settings are kept under."""


class EventPublisher(Protocol):
    async def publish(self, stream: str, event_type: str, data: dict[str, Any]) -> str: ...


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


async def _no_emit(kind: str, data: dict[str, Any]) -> None:  # noqa: ARG001
    return None


class AuditRecorder(Protocol):
    """Where security-relevant changes are recorded (identity's audit log, as the caller)."""

    async def record(self, *, credential: str | None, action: str, target: str | None = None,
                     detail: dict[str, Any] | None = None, collections: list[str] | None = None) -> None: ...


class Reasoner:
    """Answers questions with a plan of tool steps and records everything as a trace."""

    def __init__(self, *, traces: TraceStore, routes: RouteStore, router: ModelRouter, events: EventPublisher,
                 tools: dict[str, Tool], policy: Policy, max_tokens_cap: int = 1024,
                 planner: ModelPlanner | None = None, audit: AuditRecorder | None = None,
                 assessor: Assessor | None = None) -> None:
        self._traces, self._routes, self._router, self._events = traces, routes, router, events
        self._tools, self._policy, self._planner, self._audit = tools, policy, planner, audit
        self._assessor = assessor
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
            answer = await self._answer(recorder, executor, text, options, budget, named=collection is not None,
                                        credential=credential, memory=memory, explicit_threshold=explicit_threshold)
        except (ModelUnavailable, NotFound, Forbidden, DependencyUnavailable) as exc:
            await recorder.fail(status="failed", error=exc.detail, spend=executor.spend.to_dict())
            exc.extra["trace_id"] = str(trace_id)
            raise
        try:
            await self._events.publish(TRACE_STREAM, "trace.completed", completed(answer, recorder, searched))
        except DependencyUnavailable as exc:
            # the answer and its trace are stored; only the monitors' event is lost while Redis is down
            logger.warning("trace.completed for %s not published: %s", trace_id, exc.detail)
        return answer

    async def _answer(self, recorder: TraceRecorder, executor: Executor, text: str, options: AskOptions,
                      budget: Budget, *, named: bool, credential: str | None, memory: dict[str, Remembered],
                      explicit_threshold: float | None) -> Answer:
        consult = credential is not None
        ensemble = tuple(options.ensemble or ())
        request = PlanRequest(question=text, has_knowledge=consult and wants_sources(text),
                              samples=max(int(options.samples or 1), len(ensemble)), temperature=options.temperature,
                              sample_temperature=self._policy.sample_temperature, seed=options.seed,
                              ensemble=ensemble, retrieval=await self.retrieval() if consult else RetrievalSettings())
        started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
        recall_step = replace(RECALL, input={"question": text})
        recall = await self._recall(executor, recall_step) if consult and wants_sources(text) else None
        recalled = result_of(recall, RecallOutput)
        memory["held"] = remembered(recalled)
        found: dict[str, StepRecord] = {}
        if recalled is not None and recalled.exemplars:  # an approved answer to this very question
            plan = remembered_plan(request, [p.model_dump() for p in memory["held"].passages])
        else:
            plan = rules_plan(request)
            if request.has_knowledge:
                found = await self._retrieve_first(executor, plan, named=named)
                main = result_of(found.get(MAIN_SEARCH), SearchOutput)
                if not (main and main.passages):  # nothing in the collection about it: plan without it
                    plan = rules_plan(replace(request, has_knowledge=False), preface=plan.first_wave())
                else:
                    plan = settled(plan, request, main.passages)
            plan = await self._model_plan(plan, request, found)
        if recall is not None:  # the recall ran before anything else: it opens the plan and the trace
            plan.steps.insert(0, recall_step)
            found = {recall_step.id: recall, **found}
        plan = await recorder.plan(plan, self._tools, started=started, clock=clock)
        if recorder.listened and isinstance(plan.reader, Synthesized) and plan.reader.samples:
            writer = plan.reader.samples[0]  # the first sample's answer is sent as it is written
            executor.drafting = (writer, partial(recorder.draft, writer))
        records = await executor.run(plan, done_before=found)
        outcome = plan.reader.read(records) if plan.reader else Outcome(failure="the plan has no strategy")
        if memory["held"].passages:  # approved answers are sources the claims may be checked against
            outcome.passages = list({p.chunk_id: p for p in [*memory["held"].passages, *outcome.passages]}.values())
        if outcome.text is None:
            return await self._abstain(recorder, executor, outcome, budget)
        verify = PlannedStep(f"s{len(plan.steps) + 1}", Verify.name, {
            "answer": outcome.text, "passages": [p.model_dump() for p in outcome.passages],
            "computed": list(dict.fromkeys(outcome.computed + numbers_in(text))),
            "question": text if plan.strategy == "answer" else None},
            purpose="check every claim of the answer against the sources")
        checked = await executor.run_single(verify, {})
        answer = await self._decide(recorder.trace_id, outcome, checked, options, budget, executor, plan=plan,
                                    question=text, credential=credential, explicit_threshold=explicit_threshold)
        await recorder.conclude(answer)
        return answer

    async def _model_plan(self, plan: Plan, request: PlanRequest, found: dict[str, StepRecord]) -> Plan:
        """The model's plan instead of the rules' catch-all one, for a multi-part question that
        reads the collection, when the planner is active; the rules' plan when the model's is
        invalid (the reason is kept in the plan's notes)."""
        if not (request.has_knowledge and found and self._planner is not None and plan.strategy != "table"
                and wants_model_plan(request.question, catch_all=plan.catch_all) and self._planner.active()):
            return plan
        main = result_of(found.get(MAIN_SEARCH), SearchOutput)
        if not (main and main.passages):
            return plan
        proposed, note = await self._planner.propose(request.question, preface=plan.first_wave(),
                                                     retrieval=request.retrieval)
        if proposed is not None:
            try:
                proposed.validate(self._tools)
            except PlanInvalid as exc:
                proposed, note = None, f"{note}; but it does not validate ({exc}): planned by rules"
        chosen = proposed if proposed is not None else plan
        chosen.notes.append(note)
        return chosen

    async def _recall(self, executor: Executor, step: PlannedStep) -> StepRecord | None:
        """What memory holds for the question (when the recall tool is configured). A failed
        recall is recorded and the question is answered without memory."""
        if step.tool not in self._tools:
            return None
        return (await executor.prefetch([step]))[step.id]

    async def _retrieve_first(self, executor: Executor, plan: Plan, *, named: bool) -> dict[str, StepRecord]:
        """Run the knowledge plan's retrieval steps (all that depend on nothing, at once) before
        settling the plan: whether the main search finds anything decides whether the plan reads
        the collection. A collection the knowledge service does not know (when one was named)
        or refuses ends the request with its 404 or 403."""
        found = await executor.prefetch(plan.first_wave(), fatal=(NotFound, Forbidden))
        main = found.get(MAIN_SEARCH)
        if named and main is not None and main.status == "error":
            raise DependencyUnavailable(f"the knowledge service cannot be reached to search: {main.error}")
        return found

    async def _abstain(self, recorder: TraceRecorder, executor: Executor, outcome: Outcome, budget: Budget) -> Answer:
        reason = outcome.failure or "no step produced an answer"
        if executor.spend.exhausted:
            await recorder.fail(status="exhausted", error=executor.spend.exhausted, spend=executor.spend.to_dict())
            raise BudgetExhausted(
                f"the budget ran out before an answer was reached ({executor.spend.exhausted}); raise "
                f"options.budget (this service allows up to {self._policy.limit.max_steps} steps, "
                f"{self._policy.limit.max_tokens} tokens, {self._policy.limit.max_seconds:g} s)",
                extra={"trace_id": str(recorder.trace_id), "spent": executor.spend.to_dict()})
        said = f"{reason[0].upper()}{reason[1:]}." if reason == NOT_STATED else f"I don't know. {reason}."
        answer = Answer(trace_id=recorder.trace_id, answer=said,
                        model=self._router.default.chat_model, confidence=0.0, abstained=True, reason=reason,
                        budget=asdict(budget), spent=executor.spend.to_dict())
        await recorder.conclude(answer)
        return answer

    async def _decide(self, trace_id: uuid.UUID, outcome: Outcome, checked: StepRecord, options: AskOptions,
                      budget: Budget, executor: Executor, *, plan: Plan, question: str, credential: str | None,
                      explicit_threshold: float | None) -> Answer:
        verified = result_of(checked, VerifyOutput)
        claims = [c.model_dump() for c in verified.claims] if verified else []
        supported = verified.supported_fraction if verified else None
        if not outcome.passages and not outcome.computed:
            claims, supported = [], None  # nothing was consulted that a claim could be checked against
        if outcome.computed and outcome.cited:  # a computed answer rests on the passages its values came from
            claims = [{**c, "chunk_ids": [i for i in c["chunk_ids"] if i in outcome.cited]} for c in claims]
        by_chunk = {p.chunk_id: p for p in outcome.passages}
        order = list(dict.fromkeys([c for claim in claims for c in claim["chunk_ids"]]
                                   + (outcome.cited if outcome.computed else [])))
        citations = [{"document_id": by_chunk[c].document_id, "chunk_id": c, "text": by_chunk[c].text,
                      "source": by_chunk[c].source}
                     for c in order if c in by_chunk]
        text = _annotate(outcome.text or "", claims, order)
        model = "+".join(options.ensemble) if options.ensemble else self._router("synthesize").chat_model
        features = AnswerFeatures(
            agreement=outcome.vote.agreement, supported_fraction=supported,
            retrieval_scores=tuple(sorted((p.score for p in outcome.passages), reverse=True)[:20]),
            answer_kind=answer_kind(question), strategy=plan.strategy,
            step_kinds=tuple(sorted({step.tool for step in plan.steps})), models=tuple(sorted(set(model.split("+")))),
            samples=max(1, outcome.vote.samples), computed=bool(outcome.computed), citations=len(citations)).to_dict()
        grounding: Grounding = "documents" if citations else "computed" if outcome.computed else "model"
        assessment = await assess(self._assessor, features=features, trace_id=trace_id,
                                  explicit_threshold=explicit_threshold,
                                  fallback_threshold=float(options.abstain_below or 0.0), credential=credential)
        score, threshold = float(assessment["probability"]), float(assessment["threshold"])
        base = Answer(trace_id=trace_id, answer=text, model=model, citations=citations, confidence=score,
                      claims=claims, budget=asdict(budget), spent=executor.spend.to_dict(), assessment=assessment,
                      grounding=grounding)
        if not assessment["abstain"]:
            return base
        why = [f"{outcome.vote.votes} of {outcome.vote.samples} samples agreed"]
        if supported is not None and supported < 1:
            why.append(f"{round(supported * 100)}% of the answer's claims are supported by the sources")
        reason = f"confidence {score:.2f} is below {threshold:.2f}: " + "; ".join(why)
        return replace(base, answer=f"I don't know. {reason}.", abstained=True, reason=reason, withheld=text,
                       grounding="none")

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
        differences = _differences(original, again)
        return {"trace_id": answer.trace_id, "replay_of": trace_id, "reproduced": not differences,
                "differences": differences, "answer": answer.answer}

    async def retrieval(self) -> RetrievalSettings:
        """The retrieval settings in force (read each time: every instance agrees at once)."""
        stored = await self._routes.load_setting(RETRIEVAL)
        if not isinstance(stored, dict):
            return RetrievalSettings()
        weights = stored.get("weights") or {}
        return RetrievalSettings(depth=int(stored.get("depth", 4)), keyword=float(weights.get("keyword", 1.0)),
                                 vector=float(weights.get("vector", 1.0)))

    async def set_retrieval(self, *, settings: RetrievalSettings, actor: str,
                            credential: str | None = None) -> RetrievalSettings:
        """Change the retrieval depth and fusion weights; audited first (no record, no change)."""
        if self._audit is not None:
            await self._audit.record(credential=credential, action="retrieval_settings.update", target="reasoning",
                                     detail={"retrieval": settings.to_dict(),
                                             "before": (await self.retrieval()).to_dict()})
        await self._routes.save_setting(RETRIEVAL, settings.to_dict(), actor=actor)
        return await self.retrieval()

    async def load_routes(self) -> None:
        self._router.restore(await self._routes.load())

    async def set_routes(self, *, routes: dict[str, str], actor: str, credential: str | None = None) -> dict[str, str]:
        """Route step kinds to models; recorded in the audit log first (no record, no change)."""
        checked = self._router.check(routes)
        if self._audit is not None:
            await self._audit.record(credential=credential, action="model_routes.update", target="reasoning",
                                     detail={"routes": checked, "before": self._router.routes()})
        await self._routes.save(routes=checked, actor=actor)
        self._router.update(checked)
        return self._router.routes()


def completed(answer: Answer, recorder: TraceRecorder, collection: str | None) -> dict[str, Any]:
    """The `trace.completed` event the metacognition service's monitors consume."""
    searches = [s for s in recorder.steps if s["tool"] == "search" and s["status"] == "ok"]
    return {"trace_id": str(answer.trace_id), "abstained": answer.abstained, "confidence": answer.confidence,
            "collection": collection, "models": sorted({str(s["model"]) for s in recorder.steps if s["model"]}),
            "steps": recorder.steps, "empty_retrieval": bool(searches) and not any(s["found"] for s in searches)}


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
