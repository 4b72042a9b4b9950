"""The Reasoner end to end in memory: real planner, executor, calculator, verifier and model
tools, with fakes at the interfaces (a fake model, fake knowledge tools, fake trace and route
stores, a fake event publisher)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from sutazai.lib.access import Principal, Role
from sutazai.lib.contracts.metacognition import AssessmentOut
from sutazai.lib.errors import BudgetExhausted, Forbidden, NotFound, SutazaiError
from sutazai.lib.models import ChatMessage
from sutazai.reasoning.answers import AskOptions, Policy
from sutazai.reasoning.model_planning import SCHEMA as PLAN_SCHEMA
from sutazai.reasoning.model_planning import ModelPlanner
from sutazai.reasoning.model_routes import ModelRouter
from sutazai.reasoning.reasoner import Reasoner
from sutazai.reasoning.steps import Budget
from sutazai.reasoning.tools import Tool, ToolContext
from sutazai.reasoning.tools.answering import Synthesize, Verify
from sutazai.reasoning.tools.calculator import Calculator, Compare
from sutazai.reasoning.tools.dates import DateCalculator
from sutazai.reasoning.tools.knowledge import (
    GraphLookupInput,
    GraphOutput,
    GraphPathInput,
    Passage,
    SearchInput,
    SearchOutput,
)
from sutazai.reasoning.tools.modeltools import ExtractValue, Formulate
from sutazai.reasoning.tools.program import Program
from sutazai.reasoning.tools.table import ReadTable
from tests.unit.fakes import FakeEvents, FakeModel, FakeRouteStore, FakeTraceStore, words

USER = Principal("key:u1", Role.user, "api_key", "u1")
ORVANE = Passage(chunk_id="c1", document_id="d1", source="orvane.txt", score=1.0,
                 text="Orvane Systems is a maker of sensors in Tallinn. Orvane Systems employs 1,240 people.")


class FakeSearch:
    """The search tool's fake: passages sharing a word with the query, or the knowledge
    service's refusal when one is set."""

    name: ClassVar[str] = "search"
    kind: ClassVar[str] = "retrieve"
    description: ClassVar[str] = "fake search"
    input_model: ClassVar[type[BaseModel]] = SearchInput
    output_model: ClassVar[type[BaseModel]] = SearchOutput

    def __init__(self, passages: Sequence[Passage], refusal: SutazaiError | None = None) -> None:
        self.passages, self.refusal, self.contexts = list(passages), refusal, []

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        self.contexts.append(ctx)
        if self.refusal:
            raise self.refusal
        return SearchOutput(passages=[p for p in self.passages if words(data.query) & words(p.text)][:data.k])


class FakeGraph:
    """graph_lookup / graph_path fakes: an empty graph."""

    kind: ClassVar[str] = "retrieve"
    description: ClassVar[str] = "fake graph"
    output_model: ClassVar[type[BaseModel]] = GraphOutput

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:  # noqa: ARG002
        return GraphOutput(entities=[], facts=[])


class FakeGraphLookup(FakeGraph):
    name: ClassVar[str] = "graph_lookup"
    input_model: ClassVar[type[BaseModel]] = GraphLookupInput


class FakeGraphPath(FakeGraph):
    name: ClassVar[str] = "graph_path"
    input_model: ClassVar[type[BaseModel]] = GraphPathInput


def scripted(answers: Sequence[str] = ("Paris",), expression: str = "23 - 5 * 3"):  # type: ignore[no-untyped-def]
    """The fake model's replies: the first allowed value to extract, a fixed expression to
    formulate, and answers in turn to synthesize."""
    turn = itertools.cycle(answers)

    def reply(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> Any:
        del messages
        properties = (schema or {}).get("properties", {})
        if "value" in properties:
            return {"value": properties["value"]["enum"][0]}
        if "expression" in properties:
            return {"expression": expression}
        if schema is None:  # the program tool asks for code
            return f"```python\ndef solution(**inputs):\n    return {expression}\n```"
        return {"answer": next(turn), "sources": [1]} if "sources" in properties else {"answer": next(turn)}

    return reply


def reasoner(search: FakeSearch, model: FakeModel, *, abstain_below: float = 0.5,
             planner: ModelPlanner | None = None,
             assessor: Any = None) -> tuple[Reasoner, FakeTraceStore, FakeEvents]:
    router = ModelRouter(default=model, available=lambda: [model.chat_model], resolve=lambda _: model, routes={})
    tools: list[Tool] = [search, FakeGraphLookup(), FakeGraphPath(), Calculator(), Compare(), DateCalculator(),
                         Formulate(router), Program(router), ReadTable(), ExtractValue(router), Synthesize(router),
                         Verify()]
    traces, events = FakeTraceStore(), FakeEvents()
    policy = Policy(samples=3, sample_temperature=0.7, abstain_below=abstain_below, max_question_chars=4000,
                    default=Budget(32, 20_000, 60), limit=Budget(64, 50_000, 120))
    found = Reasoner(traces=traces, routes=FakeRouteStore(), router=router, events=events,
                     tools={t.name: t for t in tools}, policy=policy, planner=planner, assessor=assessor)
    return found, traces, events


def tools_run(traces: FakeTraceStore) -> list[str]:
    (trace,) = traces.traces.values()
    return [s["tool"] for s in trace["steps"]]


async def test_arithmetic_is_computed_exactly_and_every_step_is_in_the_trace() -> None:
    search = FakeSearch([ORVANE])
    found, traces, events = reasoner(search, FakeModel(scripted()))
    answer = await found.ask(question="What is 17 * 23 + 1/4?", principal=USER, collection=None,
                             options=AskOptions(), credential="szk_fake")
    assert "1565/4" in answer.answer and answer.confidence == 1.0 and not answer.abstained
    assert tools_run(traces) == ["planner", "calculator", "verify"] and search.contexts == []
    trace = traces.traces[answer.trace_id]
    assert trace["status"] == "answered" and trace["collection"] == "default"  # the collection it was grounded in
    ((stream, kind, event),) = events.published
    assert (stream, kind) == ("reasoning.traces", "trace.completed")
    assert event["trace_id"] == str(answer.trace_id) and event["abstained"] is False and event["confidence"] == 1.0
    assert [s["tool"] for s in event["steps"]] == ["planner", "calculator", "verify"]
    assert event["empty_retrieval"] is False and event["collection"] == "default"


async def test_a_quantity_is_read_from_the_collection_and_cited() -> None:
    search = FakeSearch([ORVANE])
    found, traces, _ = reasoner(search, FakeModel(scripted()))
    answer = await found.ask(question="How many employees does Orvane Systems have?", principal=USER,
                             collection="firms", options=AskOptions(), credential="szk_fake")
    assert answer.answer.startswith("1240") and [c["chunk_id"] for c in answer.citations] == ["c1"]
    trace = traces.traces[answer.trace_id]
    assert trace["plan"]["strategy"] == "extract" and trace["collection"] == "firms"
    assert tools_run(traces)[:2] == ["planner", "search"] and tools_run(traces)[-1] == "verify"
    assert all(ctx.named and ctx.collection == "firms" for ctx in search.contexts)  # named: must exist


async def test_a_word_problem_is_computed_by_programs_from_its_own_numbers_not_from_documents() -> None:
    search = FakeSearch([ORVANE])
    found, traces, _ = reasoner(search, FakeModel(scripted(expression="23 - 5 * 3")))
    answer = await found.ask(question="Olivia has 23 dollars. She buys 5 bagels for 3 dollars each. "
                                      "How much money is left?", principal=USER, collection=None,
                             options=AskOptions(), credential="szk_fake")
    assert answer.answer.startswith("8.") and not answer.abstained and answer.citations == []
    assert "Computed by 2 of 2 programs" in answer.answer and answer.confidence == 1.0
    steps = next(iter(traces.traces.values()))["steps"]
    assert [s["tool"] for s in steps][:4] == ["planner", "program", "program", "program"]
    assert steps[1]["output"]["program"].startswith("def solution(") and steps[1]["output"]["result"] == "8"
    fallback = [s for s in steps if s["tool"] in ("formulate", "calculator")]
    assert fallback and all(s["status"] == "skipped" for s in fallback)  # programs ran: no fallback
    # the first two programs agreed: the third sample was not needed (adaptive self-consistency)
    assert steps[3]["status"] == "skipped" and steps[3]["error"].startswith("skipped: the earlier samples agree")
    assert search.contexts == []  # the documents were not consulted for it


async def test_disagreeing_samples_abstain_and_say_why() -> None:
    found, _, _ = reasoner(FakeSearch([ORVANE]), FakeModel(scripted(answers=("Paris", "Lyon", "Nice"))))
    answer = await found.ask(question="In which city is Orvane Systems based?", principal=USER, collection=None,
                             options=AskOptions(), credential="szk_fake")
    assert answer.abstained and answer.confidence is not None and answer.confidence < 0.5
    assert "1 of 3 samples agreed" in (answer.reason or "") and answer.answer.startswith("I don't know.")


async def test_an_unknown_collection_ends_the_request_with_the_knowledge_services_404() -> None:
    refusal = NotFound("unknown collection 'nosuch'; collections you can use: default, firms")
    found, traces, events = reasoner(FakeSearch([], refusal=refusal), FakeModel(scripted()))
    with pytest.raises(NotFound, match="unknown collection 'nosuch'") as raised:
        await found.ask(question="Who makes sensors?", principal=USER, collection="nosuch",
                        options=AskOptions(), credential="szk_fake")
    (trace,) = traces.traces.values()
    assert trace["status"] == "failed" and raised.value.extra["trace_id"] == str(trace["id"])
    assert events.published == []


async def test_a_collection_outside_the_credential_is_refused_before_anything_runs() -> None:
    search = FakeSearch([ORVANE])
    found, traces, _ = reasoner(search, FakeModel(scripted()))
    scoped = Principal("key:u2", Role.user, "api_key", "u2", ("hr",))
    with pytest.raises(Forbidden, match="'firms'"):
        await found.ask(question="Who makes sensors?", principal=scoped, collection="firms",
                        options=AskOptions(), credential="szk_fake")
    assert traces.traces == {} and search.contexts == []
    assert found.check(question="hi", principal=scoped, collection=None) == "hr"  # the scoped default


async def test_a_budget_too_small_is_a_clear_error_and_the_trace_is_kept() -> None:
    found, traces, _ = reasoner(FakeSearch([ORVANE]), FakeModel(scripted()))
    with pytest.raises(BudgetExhausted, match="step budget of 1"):
        await found.ask(question="How many employees does Orvane Systems have?", principal=USER,
                        collection="firms", options=AskOptions(max_steps=1), credential="szk_fake")
    (trace,) = traces.traces.values()
    assert trace["status"] == "exhausted" and any(s["status"] == "skipped" for s in trace["steps"])


async def test_a_replay_reproduces_the_trace_step_by_step() -> None:
    found, traces, _ = reasoner(FakeSearch([ORVANE]), FakeModel(scripted()))
    first = await found.ask(question="How many employees does Orvane Systems have?", principal=USER,
                            collection="firms", options=AskOptions(), credential="szk_fake")
    replay = await found.replay(trace_id=first.trace_id, principal=USER, credential="szk_fake")
    assert replay["reproduced"] is True, replay["differences"]
    assert traces.traces[replay["trace_id"]]["replay_of"] == first.trace_id
    stranger = Principal("key:u3", Role.user, "api_key", "u3")
    with pytest.raises(NotFound):
        await found.trace(trace_id=first.trace_id, principal=stranger)


TIDEWELL = Passage(chunk_id="c2", document_id="d2", source="tidewell.txt", score=1.0,
                   text="In 2019, Orvane Systems acquired Tidewell Labs. Tidewell Labs makes lenses.")
CHAIN = "How many people does the company that acquired Tidewell Labs employ?"


def chain_model(plan: dict[str, Any]) -> FakeModel:
    """Plans with `plan` when asked for a plan; answers 'Orvane Systems' and reads values otherwise."""
    base = scripted(answers=("Orvane Systems",))

    def reply(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> Any:
        return plan if schema is PLAN_SCHEMA else base(messages, schema)

    return FakeModel(reply)


async def test_a_chained_question_is_planned_by_the_model_and_answered_through_the_bridge() -> None:
    plan = {"steps": [{"id": "p1", "tool": "search", "query": "acquired Tidewell Labs"},
                      {"id": "p2", "tool": "synthesize", "question": "Which company acquired Tidewell Labs?",
                       "from": ["p1"]},
                      {"id": "p3", "tool": "search", "query": "{p2} employs people"},
                      {"id": "p4", "tool": "extract_value", "target": "number of employees", "about": "{p2}",
                       "from": "p3"}], "answer": "p4"}
    model = chain_model(plan)
    router = ModelRouter(default=model, available=lambda: [model.chat_model], resolve=lambda _: model, routes={})
    found, traces, _ = reasoner(FakeSearch([ORVANE, TIDEWELL]), model,
                                planner=ModelPlanner(route=router, mode="on"))
    answer = await found.ask(question=CHAIN, principal=USER, collection="firms", options=AskOptions(),
                             credential="szk_fake")
    trace = traces.traces[answer.trace_id]
    assert any("planned by the model fake-model" in n for n in trace["plan"]["notes"])
    searched = [s["input"]["query"] for s in trace["steps"] if s["tool"] == "search"]
    assert "Orvane Systems employs people" in searched  # the bridge: p2's answer went into p3's query
    assert answer.answer.startswith("1240") and "c1" in [c["chunk_id"] for c in answer.citations]


async def test_an_invalid_model_plan_falls_back_to_the_rules_and_says_why() -> None:
    model = chain_model({"steps": [{"id": "p1", "tool": "calculator", "expression": "p2 * 2"}], "answer": "p1"})
    router = ModelRouter(default=model, available=lambda: [model.chat_model], resolve=lambda _: model, routes={})
    found, traces, _ = reasoner(FakeSearch([ORVANE, TIDEWELL]), model,
                                planner=ModelPlanner(route=router, mode="on"))
    answer = await found.ask(question=CHAIN, principal=USER, collection="firms", options=AskOptions(),
                             credential="szk_fake")
    notes = traces.traces[answer.trace_id]["plan"]["notes"]
    assert any("was not used" in n and "planned by rules" in n for n in notes)
    assert traces.traces[answer.trace_id]["plan"]["strategy"] == "extract"  # the rules' plan ran


class FakeAssessor:
    """The metacognition service's fake: a fixed probability against the threshold it is sent (its
    own active one, 0.8, when the question sets none), or unreachable."""

    def __init__(self, probability: float, *, down: bool = False) -> None:
        self.probability, self.down, self.calls = probability, down, []

    async def assess(self, *, features: dict[str, Any], trace_id: Any, abstain_below: float | None,
                     credential: str | None) -> AssessmentOut:
        self.calls.append({"features": features, "trace_id": trace_id, "abstain_below": abstain_below,
                           "credential": credential})
        if self.down:
            raise SutazaiError("connection refused")
        threshold = 0.8 if abstain_below is None else abstain_below
        return AssessmentOut(assessment_id=uuid.uuid4(), probability=self.probability, calibrator=3,
                             method="logistic", threshold=threshold, abstain=self.probability < threshold)


async def test_the_calibrated_probability_decides_and_the_trace_records_it() -> None:
    assessor = FakeAssessor(0.93)
    found, traces, _ = reasoner(FakeSearch([ORVANE]), FakeModel(scripted()), assessor=assessor)
    answer = await found.ask(question="How many employees does Orvane Systems have?", principal=USER,
                             collection="firms", options=AskOptions(), credential="szk_fake")
    assert not answer.abstained and answer.confidence == 0.93
    (call,) = assessor.calls
    assert call["credential"] == "szk_fake" and call["abstain_below"] is None  # the service's threshold rules
    features = call["features"]
    assert features["answer_kind"] == "number" and features["strategy"] == "extract"
    assert features["retrieval_scores"] == [1.0] and "search" in features["step_kinds"]
    assert 0 <= features["agreement"] <= 1 and features["citations"] == 1
    recorded = traces.traces[answer.trace_id]["assessment"]
    assert recorded["calibrator"] == 3 and recorded["probability"] == 0.93 and recorded["features"] == features


async def test_below_the_services_threshold_the_answer_is_withheld_but_kept() -> None:
    found, _, _ = reasoner(FakeSearch([ORVANE]), FakeModel(scripted()), assessor=FakeAssessor(0.6))
    answer = await found.ask(question="How many employees does Orvane Systems have?", principal=USER,
                             collection="firms", options=AskOptions(), credential="szk_fake")
    assert answer.abstained and "0.60 is below 0.80" in (answer.reason or "")
    assert answer.withheld is not None and answer.withheld.startswith("1240")
    explicit = await found.ask(question="How many employees does Orvane Systems have?", principal=USER,
                               collection="firms", options=AskOptions(abstain_below=0.5), credential="szk_fake")
    assert not explicit.abstained and explicit.withheld is None  # the question's own threshold is sent and used


async def test_when_metacognition_is_down_the_prior_decides_and_the_trace_says_why() -> None:
    found, traces, _ = reasoner(FakeSearch([ORVANE]), FakeModel(scripted()), assessor=FakeAssessor(0.1, down=True))
    answer = await found.ask(question="How many employees does Orvane Systems have?", principal=USER,
                             collection="firms", options=AskOptions(), credential="szk_fake")
    recorded = traces.traces[answer.trace_id]["assessment"]
    assert recorded["method"] == "prior" and recorded["calibrator"] is None
    assert "could not assess" in recorded["note"] and "connection refused" in recorded["note"]
    assert recorded["threshold"] == 0.5 and answer.abstained is recorded["abstain"]


LEAVE = Passage(chunk_id="c9", document_id="d9", source="leave-policy.md", score=1.0, heading="Annual leave",
                text="| Years of service | Annual leave (working days) |\n|---|---|\n| Less than 2 years | 24 |\n"
                     "| 2 to 4 years | 26 |\n| 5 to 9 years | 28 |\n| 10 years or more | 30 |")


async def test_a_table_in_the_passages_is_read_by_row_and_column_not_by_the_model() -> None:
    model = FakeModel(scripted(answers=("30 working days [1]",)))  # what a model misreading the table says
    found, traces, _ = reasoner(FakeSearch([LEAVE]), model)
    answer = await found.ask(question="How many days of annual leave does an employee with 6 years of service get?",
                             principal=USER, collection=None, options=AskOptions(), credential="szk_fake")
    assert answer.answer.startswith("28.") and not answer.abstained
    assert "6 falls in \u201c5 to 9 years\u201d" in answer.answer
    assert [c["chunk_id"] for c in answer.citations] == ["c9"]
    steps = next(iter(traces.traces.values()))["steps"]
    assert [s["tool"] for s in steps if s["tool"] in ("read_table", "synthesize")] == ["read_table"]
    assert model.chats == []  # the cell was read, not written by a model


async def test_a_general_question_the_documents_do_not_cover_is_answered_by_the_model_and_labelled() -> None:
    model = FakeModel(scripted(answers=("A prime number has exactly two divisors: 1 and itself.",)))
    found, traces, _ = reasoner(FakeSearch([ORVANE, LEAVE]), model)
    answer = await found.ask(question="Explain in two sentences what a prime number is.", principal=USER,
                             collection=None, options=AskOptions(), credential="szk_fake")
    assert not answer.abstained and answer.grounding == "model" and answer.citations == []
    assert answer.answer.startswith("A prime number has exactly two divisors")
    assert answer.confidence == 0.6  # the prior's ceiling for the model's own word
    trace = next(iter(traces.traces.values()))
    assert trace["plan"]["strategy"] == "general" and "Sources:" not in model.chats[0][-1].content


async def test_a_question_about_the_organisation_the_documents_do_not_answer_says_so() -> None:
    model = FakeModel(scripted(answers=("Paris",)))
    found, _, _ = reasoner(FakeSearch([]), model)
    answer = await found.ask(question="What is the parental leave policy of Kestrel Biotech?", principal=USER,
                             collection=None, options=AskOptions(), credential="szk_fake")
    assert answer.abstained and answer.grounding == "none" and model.chats == []  # nothing made up
    assert answer.answer == "The documents do not state the answer to this question."


async def test_when_the_model_finds_the_sources_silent_the_answer_says_the_documents_do_not_state_it() -> None:
    model = FakeModel(scripted(answers=("The sources do not mention the founding year.",)))
    found, _, _ = reasoner(FakeSearch([ORVANE]), model)
    answer = await found.ask(question="Who is the chief executive of Orvane Systems?", principal=USER,
                             collection=None, options=AskOptions(), credential="szk_fake")
    assert answer.abstained and answer.answer == "The documents do not state the answer to this question."


async def test_answers_say_where_they_come_from() -> None:
    found, _, _ = reasoner(FakeSearch([ORVANE]), FakeModel(scripted(answers=("Orvane Systems is based in Tallinn.",))))
    cited = await found.ask(question="Where is Orvane Systems based?", principal=USER, collection=None,
                            options=AskOptions(), credential="szk_fake")
    assert cited.grounding == "documents" and cited.citations
    assert cited.assessment is not None and cited.assessment["features"]["answer_kind"] == "name"
    computed = await found.ask(question="What is 17 * 23?", principal=USER, collection=None, options=AskOptions(),
                               credential="szk_fake")
    assert computed.grounding == "computed" and computed.answer.startswith("391")


async def test_when_the_first_two_samples_disagree_the_third_is_drawn_and_decides() -> None:
    results = iter(["8", "9", "8"])

    def reply(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> Any:
        del messages, schema
        return f"```python\ndef solution():\n    return {next(results)}\n```"

    found, traces, _ = reasoner(FakeSearch([]), FakeModel(reply))
    answer = await found.ask(question="Olivia has 23 dollars. She buys 5 bagels for 3 dollars each. How much "
                                      "money is left?", principal=USER, collection=None, options=AskOptions(),
                             credential="szk_fake")
    assert answer.answer.startswith("8. Computed by 2 of 3 programs")
    steps = next(iter(traces.traces.values()))["steps"]
    assert [s["status"] for s in steps if s["tool"] == "program"] == ["ok", "ok", "ok"]


async def test_when_no_program_runs_the_model_writes_the_arithmetic_instead() -> None:
    """A small model that cannot write Python: every program fails, the expression fallback answers."""

    def reply(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> Any:
        del messages
        if schema is None:
            return "12 * 12 = 144 so the answer is 144"  # not Python
        return {"expression": "23 - 5 * 3"}

    found, traces, _ = reasoner(FakeSearch([]), FakeModel(reply))
    answer = await found.ask(question="Olivia has 23 dollars. She buys 5 bagels for 3 dollars each. How much "
                                      "money is left?", principal=USER, collection=None, options=AskOptions(),
                             credential="szk_fake")
    assert answer.answer.startswith("8") and "Computed exactly: 23 - 5 * 3 = 8" in answer.answer
    steps = next(iter(traces.traces.values()))["steps"]
    assert {s["status"] for s in steps if s["tool"] == "program"} == {"error"}
    assert "not valid Python" in next(s for s in steps if s["tool"] == "program")["error"]
