"""Plans written by the model: turned into executable, DAG-valid plans, or refused with the
reason; the planner is consulted only when its model suits planning (or it is switched on)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from sutazai.lib.models import ChatMessage
from sutazai.reasoning.model_planning import (
    EXAMPLE_PLAN,
    SCHEMA,
    ModelPlanner,
    chained,
    multi_part,
    plan_from_model,
    suits_planning,
    wants_model_plan,
)
from sutazai.reasoning.planning import PlanInvalid, resolve
from sutazai.reasoning.strategies import Calculated, Synthesized
from tests.unit.fakes import FakeModel

QUESTION = "How many more employees does the company that acquired Lumen Labs have than Lumen Labs?"


def test_the_example_plan_becomes_a_dag_with_references_and_a_calculator_reader() -> None:
    plan = plan_from_model(json.loads(EXAMPLE_PLAN), question=QUESTION)
    plan.validate({s.tool: object() for s in plan.steps})
    by_id = {s.id: s for s in plan.steps}
    assert by_id["p3"].depends_on == ("p2",)  # the search quotes the answer of p2
    assert by_id["p3"].input["query"] == {"$format": "{0} employees", "args": [{"$ref": "p2.answer"}]}
    assert by_id["p7"].input == {"expression": "a - b", "variables": {"a": {"$ref": "p4.value"},
                                                                      "b": {"$ref": "p6.value"}}}
    assert set(by_id["p7"].depends_on) == {"p4", "p6"}
    assert isinstance(plan.reader, Calculated) and plan.strategy == "compute"
    assert resolve(by_id["p3"].input, {"p2": {"answer": "Brightwater Analytics."}}) == {
        "query": "Brightwater Analytics employees", "k": 4}


@pytest.mark.parametrize(("plan", "reason"), [
    ({"steps": [{"id": "p1", "tool": "calculator", "expression": "p2 + 1"},
                {"id": "p2", "tool": "search", "query": "x y"}], "answer": "p1"}, "not an earlier"),
    ({"steps": [{"id": "p1", "tool": "search", "query": "{p2} staff"}], "answer": "p1"}, "not an earlier synthesize"),
    ({"steps": [{"id": "p1", "tool": "search", "query": "staff"}], "answer": "p1"}, "is not a calculator"),
    ({"steps": [{"id": "p1", "tool": "search", "query": "a"}, {"id": "p1", "tool": "search", "query": "b"}],
      "answer": "p1"}, "repeated"),
    ({"steps": [], "answer": "p1"}, "1 to 8 steps"),
    ({"steps": [{"id": "p1", "tool": "synthesize", "question": "who?", "from": []}], "answer": "p1"}, "no search"),
])
def test_an_invalid_model_plan_is_refused_with_the_reason(plan: dict[str, Any], reason: str) -> None:
    with pytest.raises(PlanInvalid, match=reason):
        plan_from_model(plan, question=QUESTION)


def test_the_schema_allows_only_the_five_tools_and_step_ids() -> None:
    items = SCHEMA["properties"]["steps"]["items"]["anyOf"]
    assert [i["properties"]["tool"]["const"] for i in items] == [
        "search", "extract_value", "calculator", "synthesize", "graph_lookup"]
    assert SCHEMA["properties"]["steps"]["maxItems"] == 8


def test_only_models_the_manifest_suits_for_planning_plan_by_default() -> None:
    assert suits_planning("Qwen2.5-Coder-1.5B-Instruct.Q4_K_M") and suits_planning("qwen2.5-coder:1.5b")
    assert not suits_planning("SmolLM2-135M-Instruct.Q4_1") and not suits_planning("some-other-model")
    assert multi_part(QUESTION) and not multi_part("What is the capital of France?")
    # one 'of the' names a measure of one thing, which the rules read; two chain parts
    assert not multi_part("What is the budget of the Quay Wall Renewal project?")
    assert multi_part("What is the budget of the division of the head of Port Services?")
    assert chained(QUESTION) and chained("What is the population of the city where Dario Feld's company is based?")
    assert not chained("How many employees does Lumen Labs have?")
    assert chained("What is the budget of Tomas Lindqvist's division?")  # which division is a fact of its own
    # a possessive of a measure is a plain lookup, whatever its case
    assert not chained("What was the group's operating margin in the third quarter of 2026, in percent?")
    assert not chained("What was Marine Engineering's revenue in Q3 2026?")
    assert wants_model_plan(QUESTION, catch_all=False)
    assert not wants_model_plan("How many employees does Lumen Labs have?", catch_all=False)


async def test_the_planner_returns_the_models_plan_or_says_why_it_used_the_rules() -> None:
    def reply(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> Any:
        assert schema is SCHEMA and messages[-1].content == QUESTION
        return EXAMPLE_PLAN

    fake = FakeModel(reply)
    planner = ModelPlanner(route={"plan": fake}.__getitem__, mode="on")  # it reads the "plan" route
    plan, note = await planner.propose(QUESTION)
    assert plan is not None and "planned by the model" in note and len(plan.steps) == 7

    bad = FakeModel(lambda _m, _s: {"steps": [{"id": "p1", "tool": "search", "query": "x"}], "answer": "p1"})
    plan, note = await ModelPlanner(route={"plan": bad}.__getitem__, mode="on").propose(QUESTION)
    assert plan is None and "was not used" in note and "planned by rules" in note
    assert not ModelPlanner(route={"plan": fake}.__getitem__, mode="auto").active()  # the fake suits nothing
    assert not ModelPlanner(route={"plan": fake}.__getitem__, mode="off").active()


def test_a_value_may_be_read_from_the_passages_a_synthesis_read() -> None:
    plan = plan_from_model({"steps": [{"id": "p1", "tool": "search", "query": "Dario Feld company"},
                                      {"id": "p2", "tool": "synthesize", "question": "Which company?", "from": ["p1"]},
                                      {"id": "p3", "tool": "extract_value", "target": "staff", "from": "p2"}],
                            "answer": "p3"}, question="How many staff does Dario Feld's company have?")
    assert plan.steps[2].input["passages"] == {"$ref": "p2.considered"} and plan.steps[2].depends_on == ("p2",)


def test_a_synthesized_answer_step_reads_with_the_synthesis_reader() -> None:
    plan = plan_from_model({"steps": [{"id": "p1", "tool": "search", "query": "who founded it"},
                                      {"id": "p2", "tool": "synthesize", "question": "Who founded it?",
                                       "from": ["p1"]}], "answer": "p2"}, question="Who founded it?")
    assert isinstance(plan.reader, Synthesized) and plan.steps[1].depends_on == ("p1",)
