"""Runs a plan: every step whose dependencies are done starts at once (independent steps run
concurrently), within a budget of steps, tokens and seconds. Each step's input is resolved
from its dependencies' outputs and validated against the tool's schema, and its output is
validated too; a failing tool becomes a recorded error step, and steps that depend on it are
recorded as skipped. Every finished step goes to the recorder as it happens."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sutazai.lib.errors import ModelUnavailable, SutazaiError
from sutazai.reasoning.consistency import normalize
from sutazai.reasoning.model_routes import pinned
from sutazai.reasoning.planning import Plan, PlannedStep, resolve
from sutazai.reasoning.steps import Budget, Spend, StepRecord
from sutazai.reasoning.tools import Tool, ToolContext, ToolFailed, Usage
from sutazai.reasoning.tools.base import MODEL_KINDS, validate_input, validate_output

logger = logging.getLogger(__name__)


Recorder = Callable[[StepRecord], Awaitable[None]]
__all__ = ["Budget", "Executor", "Recorder", "Spend", "StepRecord"]


ADAPTIVE_SKIP = "skipped: the earlier samples agree"
"""Why a sample did not run (adaptive self-consistency); readers do not count it as a sample."""


ADAPTIVE_LEAD = 2
"""How many votes the leading answer must have over the next for later samples to be skipped."""


def agreed(step: PlannedStep, done: Mapping[str, StepRecord]) -> str | None:
    """ADAPTIVE_SKIP (with the samples named) when, among the samples the step waits on, one answer
    leads every other by ADAPTIVE_LEAD votes (two that agree; three against one): the vote is
    settled. A failed or skipped sample is no vote."""
    if not step.unless_agreed:
        return None
    votes = Counter(k for k in (_answer_key(done[d]) for d in step.unless_agreed) if k is not None).most_common(2)
    lead = votes[0][1] - (votes[1][1] if len(votes) > 1 else 0) if votes else 0
    if lead >= ADAPTIVE_LEAD:
        voted = [d for d in step.unless_agreed if _answer_key(done[d]) is not None]
        return f"{ADAPTIVE_SKIP} ({', '.join(voted)})"
    return None


def _not_needed(step: PlannedStep, done: Mapping[str, StepRecord]) -> str | None:
    """Why a fallback does not run: one of the steps it stands in for succeeded."""
    ran = [d for d in step.if_all_failed if done[d].status == "ok"]
    return f"skipped: not needed, step {ran[0]} succeeded" if ran else None


def _answer_key(record: StepRecord) -> str | None:
    if record.status != "ok" or not isinstance(record.output, dict):
        return None
    for field, numeric in (("result", True), ("value", True), ("answer", False)):
        value = record.output.get(field)
        if isinstance(value, str) and value.strip():
            return normalize(value, numeric=numeric)
    return None


class Executor:
    """One request's runner: the budget and spend are shared by every plan and step it runs."""

    def __init__(self, *, tools: Mapping[str, Tool], budget: Budget, context: Callable[[int], ToolContext],
                 recorder: Recorder) -> None:
        self._tools, self._budget, self._context, self._record = tools, budget, context, recorder
        self.spend = Spend()
        self._deadline = time.monotonic() + budget.max_seconds
        self.drafting: tuple[str, Callable[[str], Awaitable[None]]] | None = None
        """(step id, sink): that step sends its answer's text to the sink as the model writes it"""

    def _refusal(self, step: PlannedStep) -> str | None:
        if self.spend.steps >= self._budget.max_steps:
            self.spend.exhausted = self.spend.exhausted or f"step budget of {self._budget.max_steps} used up"
        elif self.kind_of(step) in MODEL_KINDS and self.spend.tokens >= self._budget.max_tokens:
            self.spend.exhausted = self.spend.exhausted or f"token budget of {self._budget.max_tokens} used up"
        elif time.monotonic() >= self._deadline:
            self.spend.exhausted = self.spend.exhausted or f"time budget of {self._budget.max_seconds:g} s used up"
        else:
            return None
        return self.spend.exhausted

    def kind_of(self, step: PlannedStep) -> str:
        """The step's kind, as its tool's class declares it."""
        return self._tools[step.tool].kind

    async def run(self, plan: Plan, *, done_before: Mapping[str, StepRecord] | None = None) -> dict[str, StepRecord]:
        """Run every step of the plan that the budget allows; return the records by step id.

        Steps in `done_before` (run ahead of planning, see `prefetch`) are recorded first and
        not run again."""
        done: dict[str, StepRecord] = {}
        for step_id, record in (done_before or {}).items():
            done[step_id] = record
            await self._record(record)
        pending = {s.id: s for s in plan.steps if s.id not in done}
        running: dict[asyncio.Task[StepRecord], str] = {}
        try:
            while pending or running:
                await self._launch_ready(pending, running, done)
                if not running:
                    continue
                finished, _ = await asyncio.wait(running, timeout=max(self._deadline - time.monotonic(), 0),
                                                 return_when=asyncio.FIRST_COMPLETED)
                if not finished:
                    self.spend.exhausted = f"time budget of {self._budget.max_seconds:g} s used up"
                    await self._cancel(running, done)
                    continue
                for task in finished:
                    record = task.result()
                    done[running.pop(task)] = record
                    await self._record(record)
        finally:
            for task in running:
                task.cancel()
        return done

    async def _launch_ready(self, pending: dict[str, PlannedStep], running: dict[asyncio.Task[StepRecord], str],
                            done: dict[str, StepRecord]) -> None:
        for step_id, step in list(pending.items()):
            if not all(d in done for d in step.depends_on):
                continue
            del pending[step_id]
            failed = [d for d in step.depends_on if done[d].status != "ok"
                      and d not in step.unless_agreed and d not in step.if_all_failed]
            reason = f"skipped: step {', '.join(failed)} did not succeed" if failed else None
            reason = reason or agreed(step, done) or _not_needed(step, done) or self._refusal(step)
            if reason:
                done[step_id] = self._skipped(step, reason)
                await self._record(done[step_id])
                continue
            self.spend.steps += 1
            outputs = {d: done[d].output for d in step.depends_on}
            running[asyncio.create_task(self.run_step(step, outputs))] = step_id

    async def _cancel(self, running: dict[asyncio.Task[StepRecord], str], done: dict[str, StepRecord]) -> None:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for task, step_id in running.items():
            record = StepRecord(id=step_id, kind="", tool="", depends_on=(), purpose="", input={},
                                status="error", error=self.spend.exhausted)
            if task.done() and not task.cancelled() and task.exception() is None:
                record = task.result()
            done[step_id] = record
            await self._record(record)
        running.clear()

    def _skipped(self, step: PlannedStep, reason: str) -> StepRecord:
        return StepRecord(id=step.id, kind=self.kind_of(step), tool=step.tool, depends_on=step.depends_on,
                          purpose=step.purpose, input=step.input, status="skipped", error=reason)

    async def run_step(self, step: PlannedStep, outputs: Mapping[str, Any], *,
                       fatal: tuple[type[SutazaiError], ...] = ()) -> StepRecord:
        """Run one step with its dependencies' outputs; never raises for a tool's failure,
        except ModelUnavailable and the domain errors listed in `fatal`."""
        raw = resolve(step.input, outputs)
        record = StepRecord(id=step.id, kind=self.kind_of(step), tool=step.tool, depends_on=step.depends_on,
                            purpose=step.purpose, input=raw)
        allowance = max(self._budget.max_tokens - self.spend.tokens, 1)
        ctx = self._context(allowance)
        if self.drafting is not None and self.drafting[0] == step.id:
            ctx.draft = self.drafting[1]
        clock = time.perf_counter()
        try:
            tool = self._tools[step.tool]
            with pinned(record.kind, step.model):
                result = await tool.run(validate_input(tool, raw), ctx)
            record.result, record.output = validate_output(tool, result)
        except ToolFailed as exc:
            record.status, record.error = "error", str(exc)
        except ModelUnavailable:
            raise
        except SutazaiError as exc:
            if isinstance(exc, fatal):
                raise
            record.status, record.error = "error", exc.detail
        finally:
            record.latency_ms = (time.perf_counter() - clock) * 1000
            self._account(record, ctx.usage)
        return record

    def _account(self, record: StepRecord, usage: Usage) -> None:
        record.model, record.model_digest = usage.model, usage.digest
        record.prompt_tokens, record.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        self.spend.tokens += usage.prompt_tokens + usage.completion_tokens
        self.spend.prompt_tokens += usage.prompt_tokens
        self.spend.completion_tokens += usage.completion_tokens

    async def prefetch(self, steps: list[PlannedStep], *,
                       fatal: tuple[type[SutazaiError], ...] = ()) -> dict[str, StepRecord]:
        """Run steps that depend on nothing, concurrently, before the plan is chosen (their
        results choose it), within the budget. They are recorded when the plan that includes
        them runs. The first of the `fatal` errors any of them raised is raised."""
        records: dict[str, StepRecord] = {}
        runs = []
        for step in steps:
            reason = self._refusal(step)
            if reason:
                records[step.id] = self._skipped(step, reason)
            else:
                self.spend.steps += 1
                runs.append(self.run_step(step, {}, fatal=fatal))
        for outcome in await asyncio.gather(*runs, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
            records[outcome.id] = outcome
        return {s.id: records[s.id] for s in steps}

    async def run_single(self, step: PlannedStep, outputs: Mapping[str, Any]) -> StepRecord:
        """Run one step outside a plan (after voting), within the same budget, and record it."""
        reason = self._refusal(step)
        if reason:
            record = self._skipped(step, reason)
        else:
            self.spend.steps += 1
            record = await self.run_step(step, outputs)
        await self._record(record)
        return record
