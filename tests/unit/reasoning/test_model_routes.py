"""Per-request model routes: they apply to one request (and the tasks it starts) only."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from sutazai.lib.errors import ValidationFailed
from sutazai.lib.models import ModelBackend
from sutazai.reasoning.model_routes import ModelRouter


class FakeModel:
    """A fake backend that only has a name (the router never calls it)."""

    def __init__(self, name: str) -> None:
        self.chat_model = name


def router() -> tuple[ModelRouter, dict[str, Any]]:
    models = {name: FakeModel(name) for name in ("small", "large", "medium")}
    made = ModelRouter(default=cast(ModelBackend, models["small"]), available=lambda: list(models),
                       resolve=lambda name: cast(ModelBackend, models[name]), routes={"plan": "medium"})
    return made, models


def test_request_routes_win_inside_the_block_only() -> None:
    made, _ = router()
    with made.overriding({"synthesize": "large"}) as in_force:
        assert made("synthesize").chat_model == "large" and in_force["synthesize"] == "large"
        assert made("plan").chat_model == "medium" and made("extract").chat_model == "small"
    assert made("synthesize").chat_model == "small"


async def test_concurrent_requests_keep_their_own_routes() -> None:
    made, _ = router()
    seen: dict[str, str] = {}

    async def request(name: str, model: str) -> None:
        with made.overriding({"synthesize": model}):
            await asyncio.sleep(0.01)
            inner = asyncio.create_task(asyncio.sleep(0, result=made("synthesize").chat_model))
            seen[name] = await inner

    await asyncio.gather(request("a", "large"), request("b", "medium"), request("c", "small"))
    assert seen == {"a": "large", "b": "medium", "c": "small"}


@pytest.mark.parametrize(("routes", "message"), [({"synthesize": "huge"}, "model 'huge' is not available"),
                                                 ({"dream": "large"}, "unknown step kind 'dream'")])
def test_unknown_kinds_and_models_are_refused(routes: dict[str, str], message: str) -> None:
    made, _ = router()
    with pytest.raises(ValidationFailed, match=message), made.overriding(routes):
        pass


async def test_a_pinned_step_uses_its_model_and_nothing_else_does() -> None:
    from sutazai.reasoning.model_routes import pinned

    made, _ = router()

    async def sample(model: str | None) -> tuple[str, str]:
        with pinned("synthesize", model):
            await asyncio.sleep(0.01)
            return made("synthesize").chat_model, made("plan").chat_model

    with made.overriding({"plan": "small"}):
        got = await asyncio.gather(*(asyncio.create_task(sample(m)) for m in ("large", "medium", None)))
    assert got == [("large", "small"), ("medium", "small"), ("small", "small")]
    made.check_models(["large", "small"])
    with pytest.raises(ValidationFailed, match="'huge'"):
        made.check_models(["large", "huge"])


def test_an_ensemble_spreads_the_samples_over_its_models() -> None:
    from sutazai.reasoning.planning import PlanRequest, rules_plan

    plan = rules_plan(PlanRequest(question="Who wrote the Orvane report?", has_knowledge=False, samples=3,
                                  temperature=0.0, sample_temperature=0.7, seed=5, ensemble=("large", "medium")))
    samples = [s for s in plan.steps if s.tool == "synthesize"]
    assert [s.model for s in samples] == ["large", "medium", "large"]
    assert [s.input["temperature"] for s in samples] == [0.0, 0.0, 0.7]  # each model's first sample is greedy
    assert [s.input["seed"] for s in samples] == [5, 6, 7]
    assert "(model medium)" in samples[1].purpose and samples[1].to_dict("synthesize")["model"] == "medium"


def test_an_approved_answer_to_the_same_question_is_read_or_written_from_memory() -> None:
    from sutazai.reasoning.planning import PlanRequest, remembered_plan

    memory = [{"chunk_id": "memory:e1", "document_id": "memory", "source": "an approved correction",
               "text": 'The approved answer to the question "How many staff?" is: 412', "score": 1.0}]
    request = PlanRequest(question="How many people work there?", has_knowledge=True, samples=2, temperature=0.0,
                          sample_temperature=0.7, seed=0)
    numeric = remembered_plan(request, memory)
    assert numeric.strategy == "remembered" and [s.tool for s in numeric.steps] == ["extract_value"] * 2
    assert numeric.steps[0].input["passages"] == memory
    worded = remembered_plan(PlanRequest(question="Who leads it?", has_knowledge=True, samples=1, temperature=0.0,
                                         sample_temperature=0.7, seed=0), memory)
    assert [s.tool for s in worded.steps] == ["synthesize"] and worded.steps[0].input["passage_sets"] == [memory]
