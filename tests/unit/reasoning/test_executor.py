"""The executor with fake tools at the tool interface: concurrency, validation, failures,
and budgets."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any, ClassVar

from pydantic import BaseModel

from sutazai.reasoning.executor import Budget, Executor, StepRecord
from sutazai.reasoning.planning import Plan, ref
from sutazai.reasoning.tools import Tool, ToolContext, ToolFailed


class In(BaseModel):
    value: int
    delay: float = 0.0


class Out(BaseModel):
    value: int


class Wrong(BaseModel):
    value: str


class FakeDouble:
    """A fake tool: doubles its input after an optional delay, spending 10 tokens."""

    name: ClassVar[str] = "double"
    kind: ClassVar[str] = "compute"
    description: ClassVar[str] = "fake"
    input_model: ClassVar[type[BaseModel]] = In
    output_model: ClassVar[type[BaseModel]] = Out

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        await asyncio.sleep(data.delay)
        ctx.usage.prompt_tokens += 10
        if data.value < 0:
            raise ToolFailed("negative input")
        return Out(value=data.value * 2)


class FakeBroken(FakeDouble):
    """A fake tool whose output breaks its own schema."""

    name: ClassVar[str] = "broken"

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:  # noqa: ARG002
        return Wrong(value="many")


def executor(budget: Budget, records: list[StepRecord]) -> Executor:
    async def record(step: StepRecord) -> None:
        records.append(step)

    tools: dict[str, Tool] = {"double": FakeDouble(), "broken": FakeBroken()}
    return Executor(tools=tools, budget=budget, recorder=record,
                    context=lambda allowance: ToolContext(collection=None, credential=None,
                                                          today=dt.date(2026, 1, 1), max_tokens=allowance))


BIG = Budget(max_steps=50, max_tokens=10_000, max_seconds=30)


async def test_independent_steps_run_concurrently_and_dependents_get_their_outputs() -> None:
    plan = Plan()
    a = plan.add("double", {"value": 1, "delay": 0.3})
    b = plan.add("double", {"value": 2, "delay": 0.3})
    plan.add("double", {"value": ref(f"{a}.value")}, after=(a, b))
    records: list[StepRecord] = []
    started = time.monotonic()
    done = await executor(BIG, records).run(plan)
    assert time.monotonic() - started < 0.55  # the two 0.3 s steps overlapped
    assert done["s3"].output == {"value": 4} and done["s3"].input == {"value": 2}
    assert [r.id for r in records][-1] == "s3"


async def test_a_failing_tool_is_an_error_step_and_its_dependents_are_skipped() -> None:
    plan = Plan()
    bad = plan.add("double", {"value": -1})
    plan.add("double", {"value": ref(f"{bad}.value")}, after=(bad,))
    plan.add("double", {"value": "not a number"})
    plan.add("broken", {"value": 1})
    done = await executor(BIG, []).run(plan)
    assert (done["s1"].status, done["s1"].error) == ("error", "negative input")
    assert done["s2"].status == "skipped" and "s1 did not succeed" in str(done["s2"].error)
    assert done["s3"].status == "error" and "invalid input for double: value" in str(done["s3"].error)
    assert done["s4"].status == "error" and "breaks its schema" in str(done["s4"].error)


async def test_the_step_budget_stops_new_steps() -> None:
    plan = Plan()
    for i in range(4):
        plan.add("double", {"value": i})
    run = executor(Budget(max_steps=2, max_tokens=10_000, max_seconds=30), [])
    done = await run.run(plan)
    assert [done[f"s{i}"].status for i in range(1, 5)] == ["ok", "ok", "skipped", "skipped"]
    assert run.spend.exhausted == "step budget of 2 used up"


async def test_the_time_budget_cancels_running_steps() -> None:
    plan = Plan()
    plan.add("double", {"value": 1, "delay": 5})
    run = executor(Budget(max_steps=5, max_tokens=10_000, max_seconds=0.2), [])
    started = time.monotonic()
    done = await run.run(plan)
    assert time.monotonic() - started < 2
    assert done["s1"].status == "error" and "time budget" in str(done["s1"].error)


async def test_tokens_are_counted_across_steps() -> None:
    plan = Plan()
    plan.add("double", {"value": 1})
    plan.add("double", {"value": 2})
    run = executor(BIG, [])
    await run.run(plan)
    assert run.spend.tokens == 20 and run.spend.steps == 2


def test_a_later_sample_is_skipped_once_one_answer_leads_by_two_votes() -> None:
    from sutazai.reasoning.executor import ADAPTIVE_SKIP, agreed
    from sutazai.reasoning.planning import PlannedStep

    def sample(step_id: str, result: str | None) -> StepRecord:
        return StepRecord(step_id, "tool", "program", (), "", {}, status="ok" if result else "error",
                          output={"result": result} if result else None, error=None if result else "failed")

    def verdict(*results: str | None) -> str | None:
        done = {f"s{i}": sample(f"s{i}", r) for i, r in enumerate(results, 1)}
        return agreed(PlannedStep("next", "program", {}, unless_agreed=tuple(done)), done)

    assert (verdict("26", "26") or "").startswith(ADAPTIVE_SKIP)  # two agree
    assert verdict("26", "18") is None and verdict("26", None) is None  # split, or one failed: no vote yet
    assert verdict("26", "18", "26") is None  # 2 against 1 may still turn
    assert verdict("26", "18", "26", "26") == f"{ADAPTIVE_SKIP} (s1, s2, s3, s4)"  # 3 against 1 cannot
    assert verdict("18", "26", None, "26", "26") is not None and verdict("1", "2", "3") is None
