"""Plans the model writes, for questions the rules do not fit.

The rules planner reads a question's shape; a question with several parts it has no rule for
(find X, then use X to find Y, then compute) ends in its catch-all branch: search and write an
answer. For such a question, when the model routed for "plan" suits planning (its manifest
entry lists "plan") or planning by model is switched on, the planner asks that model for a plan
under a JSON schema: a list of steps, each one of five tools with only the fields that tool
needs, and which step's result is the answer. References between steps are step ids, so the
dependencies follow from them; a reference must point to an earlier step whose tool produces
what is needed, so the plan is a DAG by construction and is then validated like any other.
Whatever fails (invalid JSON, a reference to a later step, a search with nothing to search
for) makes the model's plan invalid: the reason goes to the trace and the rules' plan runs.

Steps the model may plan:
- `search` {query}: the query may quote an earlier `synthesize` step's answer as {sN};
- `extract_value` {target, about, from: a search step, or a synthesize step: the passages it read}: one
  number read from those passages;
- `calculator` {expression}: arithmetic over earlier extract_value/calculator steps, named sN;
- `synthesize` {question, from: search steps}: a short answer written from their passages;
- `graph_lookup` {name}: facts about an entity from the knowledge graph.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sutazai.lib.errors import ModelOutputInvalid, SutazaiError
from sutazai.lib.models import ChatMessage, ModelBackend
from sutazai.lib.models.manifest import model_suits
from sutazai.reasoning.planning import Plan, PlanInvalid, PlannedStep, RetrievalSettings, ref
from sutazai.reasoning.strategies import Calculated, Extracted, OutcomeReader, Synthesized

MAX_STEPS = 8
STEP_IDS = [f"p{i}" for i in range(1, MAX_STEPS + 1)]
_STEP = re.compile(r"\bp[1-9]\b")
_MULTI_PART = re.compile(r"\b(that|which|who|whose|where|when|then|whom|both|and)\b", re.I)
_OF_THE = re.compile(r"\bof the\b", re.I)
_RELATION = ("division|department|company|employer|office|city|country|team|manager|project|parent|owner|head|"
             "headquarters|unit|subsidiary|supervisor|boss|group|site")
_CHAINED = re.compile(r"(?i:\bthe \w+(?: \w+)? (?:that|which|who|whose|where|when)\b)|"
                      rf"\b[A-Z][a-z]+(?: [A-Z][a-z]+)*['\u2019]s (?:{_RELATION})\b")
"""A clause that names something by another fact ('the city where ...'), or a named one's relation
('Tomas Lindqvist's division': which division is a fact of its own). A possessive of a measure
('Marine Engineering's revenue', 'the group's operating margin') is a plain lookup."""


def _step(tool: str, fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": ["id", "tool", *required],
            "properties": {"id": {"type": "string", "enum": STEP_IDS}, "tool": {"type": "string", "const": tool},
                           **fields}}


_TEXT = {"type": "string", "minLength": 2, "maxLength": 200}
_REF = {"type": "string", "enum": STEP_IDS}
SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["steps", "answer"],
    "properties": {
        "steps": {"type": "array", "minItems": 1, "maxItems": MAX_STEPS, "items": {"anyOf": [
            _step("search", {"query": _TEXT}, ["query"]),
            _step("extract_value", {"target": _TEXT, "about": _TEXT, "from": _REF}, ["target", "from"]),
            _step("calculator", {"expression": {"type": "string", "minLength": 1, "maxLength": 120}},
                  ["expression"]),
            _step("synthesize", {"question": _TEXT, "from": {"type": "array", "minItems": 1, "maxItems": 4,
                                                              "items": _REF}}, ["question", "from"]),
            _step("graph_lookup", {"name": _TEXT}, ["name"]),
        ]}},
        "answer": _REF,
    },
}

SYSTEM = (
    "You plan how to answer a question from a document collection, with tools. Tools:\n"
    "- search {query}: find passages. A query may include {pN}, the answer of an earlier synthesize step.\n"
    "- extract_value {target, about, from}: read one number (target) about an entity from the passages of "
    "search step `from`.\n"
    "- calculator {expression}: exact arithmetic; write earlier extract_value or calculator steps as pN.\n"
    "- synthesize {question, from}: write a short answer (a name, a place, a phrase) from the passages of the "
    "search steps in `from`.\n"
    "- graph_lookup {name}: facts about an entity.\n"
    "Steps are p1, p2, ... in order; a step may only use earlier steps. `answer` is the step whose result "
    "answers the question. Use as few steps as the question needs. Reply with JSON only."
)
EXAMPLE_QUESTION = "How many more employees does the company that acquired Lumen Labs have than Lumen Labs?"
EXAMPLE_PLAN = (
    '{"steps":[{"id":"p1","tool":"search","query":"company that acquired Lumen Labs"},'
    '{"id":"p2","tool":"synthesize","question":"Which company acquired Lumen Labs?","from":["p1"]},'
    '{"id":"p3","tool":"search","query":"{p2} employees"},'
    '{"id":"p4","tool":"extract_value","target":"number of employees","about":"{p2}","from":"p3"},'
    '{"id":"p5","tool":"search","query":"Lumen Labs employees"},'
    '{"id":"p6","tool":"extract_value","target":"number of employees","about":"Lumen Labs","from":"p5"},'
    '{"id":"p7","tool":"calculator","expression":"p4 - p6"}],"answer":"p7"}'
)

_PRODUCES = {"search": "passages", "synthesize": "answer", "extract_value": "value", "calculator": "value"}


def multi_part(question: str) -> bool:
    """Whether the question seems to chain parts (a relative clause, a conjunction, or 'of the'
    twice: 'the head of the division of the project'); one 'of the' names a measure of one thing
    ('the budget of the Quay Wall project'), which the rules read."""
    parts = len(_MULTI_PART.findall(question)) + (len(_OF_THE.findall(question)) >= 2)
    return parts >= 1 and len(question.split()) >= 8


def chained(question: str) -> bool:
    """Whether the question names something only by what another fact says of it ("the company
    that acquired X", "the city where P's company is based"): the rules read one hop only."""
    return bool(_CHAINED.search(question))


def wants_model_plan(question: str, *, catch_all: bool) -> bool:
    """No rule fits: the rules' catch-all on a multi-part question, or any chained question."""
    return chained(question) or (catch_all and multi_part(question))


def _formatted(text: str, answers: Mapping[str, str], where: str) -> Any:
    """`text` with each {pN} replaced by a reference to that synthesize step's answer."""
    names = re.findall(r"\{(p[1-9])\}", text)
    if not names:
        return text
    for name in names:
        if name not in answers:
            raise PlanInvalid(f"{where} quotes {{{name}}}, which is not an earlier synthesize step")
    template = re.sub(r"\{(p[1-9])\}", lambda m: "{" + str(names.index(m.group(1))) + "}", text)
    return {"$format": template, "args": [ref(f"{n}.answer") for n in names]}


def plan_from_model(data: Mapping[str, Any], *, question: str, samples: int = 1,
                    preface: Sequence[PlannedStep] = (), retrieval: RetrievalSettings | None = None) -> Plan:
    """The model's plan as a Plan the executor runs, or PlanInvalid saying what is wrong."""
    raw_steps = list(data.get("steps") or [])
    if not raw_steps or len(raw_steps) > MAX_STEPS:
        raise PlanInvalid(f"a plan has 1 to {MAX_STEPS} steps")
    plan = Plan(steps=list(preface), strategy="model plan")
    tools: dict[str, str] = {}
    answers: dict[str, str] = {}
    for raw in raw_steps:
        step_id, tool = str(raw.get("id")), str(raw.get("tool"))
        if step_id in tools or step_id not in STEP_IDS:
            raise PlanInvalid(f"step id {step_id!r} is repeated or not one of p1..p{MAX_STEPS}")
        where = f"step {step_id} ({tool})"

        def earlier(name: str, kinds: tuple[str, ...], where: str = where) -> str:
            if tools.get(name) not in kinds:
                raise PlanInvalid(f"{where} uses {name}, which is not an earlier {' or '.join(kinds)} step")
            return name

        if tool == "search":
            query = _formatted(str(raw.get("query", "")).strip(), answers, where)
            after = tuple(a["$ref"].split(".")[0] for a in query["args"]) if isinstance(query, dict) else ()
            step = PlannedStep(step_id, "search", (retrieval or RetrievalSettings()).search(query), after,
                               "search the collection")
        elif tool == "extract_value":
            source = earlier(str(raw.get("from")), ("search", "synthesize"))
            about = _formatted(str(raw.get("about") or "").strip(), answers, where) or None
            extra = tuple(a["$ref"].split(".")[0] for a in about["args"]) if isinstance(about, dict) else ()
            read = "passages" if tools[source] == "search" else "considered"  # what that synthesis read
            step = PlannedStep(step_id, "extract_value", {
                "target": str(raw.get("target", "")), "about": about, "passages": ref(f"{source}.{read}")},
                tuple(dict.fromkeys((source, *extra))),
                f"read {raw.get('target', 'a value')} from the passages of {source}")
        elif tool == "calculator":
            expression = str(raw.get("expression", ""))
            used = list(dict.fromkeys(_STEP.findall(expression)))
            for name in used:
                earlier(name, ("extract_value", "calculator"))
            letters = {name: chr(ord("a") + i) for i, name in enumerate(used)}
            written = _letters(expression, letters)
            step = PlannedStep(step_id, "calculator", {
                "expression": written, "variables": {letters[n]: ref(f"{n}.value") for n in used}},
                tuple(used), f"compute {expression} exactly")
        elif tool == "synthesize":
            sources = [earlier(str(s), ("search",)) for s in raw.get("from") or []]
            if not sources:
                raise PlanInvalid(f"{where} reads no search step")
            answers[step_id] = "answer"
            step = PlannedStep(step_id, "synthesize", {
                "question": str(raw.get("question") or question), "passage_sets": [ref(f"{s}.passages")
                                                                                     for s in sources]},
                tuple(sources), "write a short answer from the passages")
        elif tool == "graph_lookup":
            step = PlannedStep(step_id, "graph_lookup", {"name": str(raw.get("name", ""))}, (),
                               f"facts about {raw.get('name')}")
        else:
            raise PlanInvalid(f"{where}: unknown tool")
        tools[step_id] = tool
        plan.steps.append(step)
    answer = str(data.get("answer"))
    if answer not in tools or tools[answer] not in _PRODUCES or tools[answer] == "search":
        raise PlanInvalid(f"the answer {answer!r} is not a calculator, extract_value or synthesize step")
    plan.reader = _reader(plan, answer, tools[answer], samples)
    return plan


def _letters(expression: str, letters: Mapping[str, str]) -> str:
    """The expression with each step id written as its variable's letter."""
    return _STEP.sub(lambda m: letters[m.group(0)], expression)


def _reader(plan: Plan, answer: str, tool: str, samples: int) -> OutcomeReader:
    searches = [s.id for s in plan.steps if s.tool == "search"]
    extracts = [s.id for s in plan.steps if s.tool == "extract_value"]
    if tool == "calculator":
        plan.strategy = "compute"
        return Calculated(calculations=[answer], extracts=extracts, searches=searches)
    if tool == "extract_value":
        plan.strategy = "extract"
        return Extracted(samples=[answer], searches=searches)
    plan.strategy = "answer"
    del samples
    return Synthesized(samples=[answer], searches=searches)


class ModelPlanner:
    """Asks the routed "plan" model for a plan; `mode` "auto" does so only when that model's
    manifest entry suits planning."""

    def __init__(self, *, route: Callable[[str], ModelBackend], mode: str = "auto", max_tokens: int = 400) -> None:
        self._route, self._mode, self._max_tokens = route, mode, max_tokens

    def active(self) -> bool:
        if self._mode in ("on", "off"):
            return self._mode == "on"
        return suits_planning(self._route("plan").chat_model)

    async def propose(self, question: str, *, samples: int = 1, preface: Sequence[PlannedStep] = (),
                      retrieval: RetrievalSettings | None = None) -> tuple[Plan | None, str]:
        """(the model's plan, a note for the trace); (None, why) when it is unusable."""
        model = self._route("plan")
        clock = time.perf_counter()
        messages = [ChatMessage("system", SYSTEM), ChatMessage("user", EXAMPLE_QUESTION),
                    ChatMessage("assistant", EXAMPLE_PLAN), ChatMessage("user", question)]
        digest = getattr(model, "digest", None)
        who = model.chat_model + (f" (sha256 {digest[:12]})" if digest else "")
        try:
            result = await model.chat(messages, temperature=0.0, max_tokens=self._max_tokens, seed=0,
                                      json_schema=SCHEMA)
            plan = plan_from_model(result.json(), question=question, samples=samples, preface=preface,
                                   retrieval=retrieval)
        except (PlanInvalid, ModelOutputInvalid) as exc:
            reason = exc.detail if isinstance(exc, SutazaiError) else str(exc)
            return None, f"the plan {who} wrote was not used ({reason}); planned by rules"
        seconds = time.perf_counter() - clock
        return plan, f"planned by the model {who} in {seconds:.1f} s: no rule fits this question"


def suits_planning(chat_model: str) -> bool:
    """Whether the manifest lists `chat_model` as suited to planning."""
    return model_suits(chat_model, "plan")
