"""Plans: steps with dependencies (a DAG), each naming a tool and its input. An input value
may be a reference `{"$ref": "s2.passages"}` to a dependency's output, resolved when the
step runs. The rules planner reads the question's shape (an expression, dates, named
entities, a quantity asked for) and builds a plan deterministically, so a replay plans the
same way."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sutazai.reasoning.grounding import names_in
from sutazai.reasoning.strategies import (
    Calculated,
    Calendar,
    Compared,
    Extracted,
    NotStated,
    OutcomeReader,
    Programmed,
    Synthesized,
    Tabulated,
)
from sutazai.reasoning.tables import aggregates, answer_from_tables
from sutazai.reasoning.tools.external import ExternalTool
from sutazai.reasoning.tools.knowledge import Passage
from sutazai.reasoning.tools.modeltools import numbers_in
from sutazai.reasoning.tools.table import passage_tables

EXACT = "exact"
"""The strategy of a question that states its own arithmetic or calendar sum: computed by SymPy or the
date tool, with no model step, so its answer is exact."""
MAIN_SEARCH = "s1"
"""A plan made with knowledge starts with the search for the question itself."""


@dataclass(frozen=True)
class RetrievalSettings:
    """How deep the question's own search goes and how its rankings are fused (an admin sets it;
    the metacognition service proposes changes measured on held-out questions). Searches for one
    named entity go one passage less deep."""

    depth: int = 4
    keyword: float = 1.0
    vector: float = 1.0

    def search(self, query: Any, *, k: int | None = None) -> dict[str, Any]:
        """A search step's input: the weights appear only when they differ from plain fusion."""
        weighted = (self.keyword, self.vector) != (1.0, 1.0)
        return {"query": query, "k": k or self.depth,
                **({"weights": {"keyword": self.keyword, "vector": self.vector}} if weighted else {})}

    def to_dict(self) -> dict[str, Any]:
        return {"depth": self.depth, "weights": {"keyword": self.keyword, "vector": self.vector}}


class PlanInvalid(ValueError):
    """A plan that cannot run: unknown tool or dependency, or a cycle."""


@dataclass(frozen=True)
class PlannedStep:
    id: str
    tool: str
    input: dict[str, Any]
    depends_on: tuple[str, ...] = ()
    purpose: str = ""
    model: str | None = None
    """the model this step must use (an ensemble's sample), instead of its kind's route"""
    unless_agreed: tuple[str, ...] = ()
    """earlier samples of the same answer: when one answer among them leads the rest by two votes,
    this sample is not needed and is skipped (adaptive self-consistency); it runs after them"""
    if_all_failed: tuple[str, ...] = ()
    """steps this one stands in for: it runs only when every one of them failed (a fallback)"""

    def to_dict(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "tool": self.tool, "kind": kind, "input": self.input,
                "depends_on": list(self.depends_on), "purpose": self.purpose,
                **({"model": self.model} if self.model else {}),
                **({"unless_agreed": list(self.unless_agreed)} if self.unless_agreed else {}),
                **({"if_all_failed": list(self.if_all_failed)} if self.if_all_failed else {})}


@dataclass
class Plan:
    """Steps in order, the strategy's name, and the reader that turns the steps' results into
    an answer candidate."""

    steps: list[PlannedStep] = field(default_factory=list)
    strategy: str = "answer"
    notes: list[str] = field(default_factory=list)
    reader: OutcomeReader | None = None
    catch_all: bool = False
    """The rules had nothing specific for this question: search (if sources are used) and write."""

    def add(self, tool: str, input: dict[str, Any], *, after: tuple[str, ...] = (), purpose: str = "",
            model: str | None = None, unless_agreed: tuple[str, ...] = (), if_all_failed: tuple[str, ...] = ()) -> str:
        step_id = f"s{len(self.steps) + 1}"
        self.steps.append(PlannedStep(step_id, tool, input, (*after, *unless_agreed, *if_all_failed), purpose, model,
                                      unless_agreed, if_all_failed))
        return step_id

    def to_dict(self, tools: Mapping[str, Any]) -> dict[str, Any]:
        """The plan as stored in the trace; each step's kind is its tool's."""
        return {"strategy": self.strategy, "notes": self.notes,
                "steps": [s.to_dict(tools[s.tool].kind) for s in self.steps]}

    def first_wave(self) -> list[PlannedStep]:
        """The steps that depend on nothing: they can all start at once."""
        return [s for s in self.steps if not s.depends_on]

    def ids(self, tool: str) -> list[str]:
        """The ids of the steps that use `tool`, in plan order (what a strategy reads)."""
        return [s.id for s in self.steps if s.tool == tool]

    def validate(self, tools: Mapping[str, object]) -> None:
        """Raise PlanInvalid unless every tool exists and the dependencies form a DAG."""
        ids = {s.id for s in self.steps}
        if len(ids) != len(self.steps):
            raise PlanInvalid("two steps share an id")
        for step in self.steps:
            if step.tool not in tools:
                raise PlanInvalid(f"step {step.id} uses unknown tool {step.tool!r}")
            missing = [d for d in step.depends_on if d not in ids]
            if missing:
                raise PlanInvalid(f"step {step.id} depends on unknown step(s) {', '.join(missing)}")
        order: list[str] = []
        remaining = {s.id: set(s.depends_on) for s in self.steps}
        while remaining:
            ready = [i for i, deps in remaining.items() if deps <= set(order)]
            if not ready:
                raise PlanInvalid(f"steps {', '.join(sorted(remaining))} depend on each other in a cycle")
            order += sorted(ready)
            for i in ready:
                del remaining[i]


def ref(path: str) -> dict[str, str]:
    return {"$ref": path}


def resolve(value: Any, outputs: Mapping[str, Any]) -> Any:
    """`value` with every {"$ref": "step.field.field"} replaced by that dependency's output, and
    every {"$format": "… {0} …", "args": [refs]} by the text with those outputs put in."""
    if isinstance(value, dict):
        if set(value) == {"$format", "args"}:
            args = [str(resolve(a, outputs) or "").strip().rstrip(".") for a in value["args"]]
            return str(value["$format"]).format(*args)
        if set(value) == {"$ref"}:
            step, *path = str(value["$ref"]).split(".")
            found: Any = outputs[step]
            for part in path:
                found = found[part] if isinstance(found, dict) else None
            return found
        return {k: resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, outputs) for v in value]
    return value


# --- reading the question ---------------------------------------------------------------

_QUESTION_WORDS = {
    "what", "how", "who", "whom", "which", "when", "where", "why", "is", "are", "was", "were", "does",
    "did", "do", "can", "could", "in", "the", "a", "an", "if", "of", "on", "for", "and", "or", "to",
    "compare", "tell", "give", "list", "name", "please", "calculate", "compute",
}
_ENTITY = re.compile(r"\b[A-Z][\w'-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z0-9][\w'-]*)*")
_NUMERIC = re.compile(r"\b(how (?:many|much|long|old|far|fast|often|tall|high|heavy|big|wide|deep)|total|sum|"
                      r"difference|combined|together|more|fewer|"
                      r"less|times|average|percent(?:age)?|ratio|older|younger|larger|smaller|bigger)\b", re.I)
_EXPRESSION_LEAD = re.compile(r"^\s*(?:what is|what's|calculate|compute|evaluate|solve|simplify|expand|factor"
                              r"(?:ize)?)\s*:?\s*", re.I)
_EXPRESSION = re.compile(r"^[\d\s+\-*/^().,%=×÷a-z]+$")
_OPERATOR = re.compile(r"[+\-*/^=×÷%]|\b(?:sqrt|factorial|log|sin|cos|tan)\b")
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DATE = re.compile(rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|"
                   rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}|today|tomorrow|yesterday)\b", re.I)
_YEAR = re.compile(r"(?:19|20)\d\d")
_AGE = re.compile(r"\b(older|younger|how old|age)\b", re.I)
_SPAN = re.compile(r"\b(\d+)\s+(day|week|month|year)s?\s+(after|before|from)\b", re.I)
_STOP = _QUESTION_WORDS | {
    "many", "much", "more", "fewer", "less", "than", "have", "has", "had", "there", "their", "its", "it",
    "be", "been", "by", "with", "at", "as", "that", "this", "between", "difference", "total", "combined",
    "together", "sum", "both", "each", "other", "they", "them", "do", "does", "did",
}


_REASON = re.compile(r"^\s*(why|how come|how does|how do|how did|how can|explain|describe|summari[sz]e|what (?:is|are) "
                     r"the (?:reason|purpose|cause)s?|what caused|what drove|what happens|what happened|"
                     r"give an overview)\b", re.I)
_CHANGE = re.compile(r"\b(increase[sd]?|decrease[sd]?|after|grow|grew|fall|fell|change[sd]?|remain|left|than|"
                     r"together|combined|total|sum|difference|between|average|per cent of|percent of|ratio)\b", re.I)
_DATE_ASKED = re.compile(r"^\s*(when|what date|on what date|in what year|which year|by when|until when)\b|"
                         r"\b(what|which) (?:date|day|year|month|deadline)\b|"
                         r"^\s*what(?:'s| is| was| will be| are| were) the (?:\w+ )?"
                         r"(?:deadline|due date|start date|end date|closing date|expiry date|opening date)s?\b",
                         re.I)
_NAME_ASKED = re.compile(r"^\s*(?:(?:in|at|from|for|to|by|of|on|with)\s+)?(who|whom|whose|which|where|name the|"
                         r"what is the name|what's the name)\b", re.I)


def answer_kind(question: str) -> str:
    """What the question asks for: a reason, a date, a number, a name, or text."""
    if _REASON.search(question):
        return "reason"
    if _DATE_ASKED.search(question):
        return "date"
    if _NUMERIC.search(question) and not _NAME_ASKED.search(question):
        return "number"
    if _NAME_ASKED.search(question):
        return "name"
    return "text"


_ORGANISATION = re.compile(r"\b(our|we|us|my|company|companies|employees?|staff|policy|policies|contracts?|division|"
                           r"department|project|office|quarter|q[1-4]|budget|revenue|invoice|salary|leave|customer|"
                           r"supplier|meeting|report|document|documents|register|handbook|team|board|minutes)\b", re.I)
_GENERIC = frozenset({"name", "list", "explain", "sentences", "sentence", "briefly", "describe", "words", "short",
                      "simple", "terms", "please", "tell", "give", "example", "examples", "mean", "means", "meaning",
                      "define", "two", "three", "one", "what", "which", "who", "why", "how", "when", "where", "does",
                      "is", "are",
                      "the", "a", "an", "of", "in", "to", "and", "or", "for", "on", "with", "do", "did", "was",
                      "were", "can", "could", "would", "should", "it", "its", "that", "this", "by", "be", "from",
                      "day", "days", "year", "years", "month", "months", "week", "weeks", "time", "number", "many",
                      "much", "there", "have", "has", "people", "first", "last", "new", "old", "used", "use"})


def general_question(question: str, *, names_allowed: bool = False) -> bool:
    """A question about the world rather than the organisation's documents: it asks about nothing
    an organisation's documents hold (no 'our', 'policy', 'employee', 'revenue', ...), states no
    quantity, and names nothing (no capitalised name after the first word) unless `names_allowed`
    (the documents were searched and are not about it: 'the capital of Norway')."""
    words = re.findall(r"[A-Za-z][\w'-]*", question)
    named = [w for w in words[1:] if w[0].isupper() and w not in {"I"}]
    return (names_allowed or not named) and not _ORGANISATION.search(question) and not numbers_in(question)


def covered(question: str, passages: Sequence[Any]) -> bool:
    """Whether one passage holds at least half of the question's content words (by their first five
    letters): the documents found are about the question, not only near it."""
    wanted = {w[:5] for w in re.findall(r"[a-z0-9][a-z0-9'-]*", question.lower()) if w not in _GENERIC and len(w) > 2}
    if not wanted:
        return True
    for passage in passages:
        text = f"{getattr(passage, 'heading', None) or ''} {getattr(passage, 'text', '')}".lower()
        held = {w[:5] for w in re.findall(r"[a-z0-9][a-z0-9'-]*", text)}
        if len(wanted & held) / len(wanted) >= 0.5:
            return True
    return False


def word_problem(question: str) -> bool:
    """A self-contained quantity question: it asks for an amount and states the numbers to compute
    it from (two in digits, or premises in sentences of their own before it), so it is computed
    from them, not read from documents. Number words alone ('the third quarter', 'the two
    projects') do not make one: they name what documents hold."""
    return asks_quantity(question) and (len(stated_numbers(question)) >= 2 or _premised(question))


def self_contained(question: str) -> bool:
    """A problem that states its own premises and asks for an amount or a value, not a reason, a
    date or a name ('Kyle bought a book for $19.50 with a 25% discount. What was the original
    price?'). Asked of a collection, it is computed from its own numbers once the documents turn
    out not to be about it."""
    return _premised(question, spelled=True) and answer_kind(_sentences(question)[-1]) in ("number", "text")


def _sentences(question: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", question.strip()) if s]


def _premised(question: str, *, spelled: bool = False) -> bool:
    """Sentences before the question state quantities (one in digits, or also in words where
    `spelled`, among at least two in all), and the last sentence asks, not for a reason."""
    sentences = _sentences(question)
    if len(sentences) < 2 or not sentences[-1].rstrip().endswith("?") or _REASON.search(sentences[-1]):
        return False
    premises = " ".join(sentences[:-1])
    stated = bool(stated_numbers(premises)) or (spelled and bool(_SPELLED.search(premises)))
    return stated and len(stated_numbers(question)) + len(_SPELLED.findall(question)) >= 2


_SPELLED = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
                      r"forty|fifty|hundred|thousand|half|twice|double|triple|thrice|quarter|third|dozen)\b", re.I)


def stated_numbers(question: str) -> list[str]:
    """The quantities written in digits in the question (a year such as 2026 is not one)."""
    return [n for n in numbers_in(question) if not _YEAR.fullmatch(n)]


_MEASURE_ASKED = re.compile(
    r"^\s*(?:what|how much) (?:is|was|are|were|will be|would be)\s+(?:the\s+|an?\s+)?(?:[\w'\u2019-]+\s+){0,4}?"
    r"(?:budget|revenue|cost|price|salary|headcount|floor area|area|population|turnover|income|profit|loss|margin|"
    r"debt|fee|rate|capacity|value|size|weight|length|height|distance|number|amount|volume|score|count|age|"
    r"allowance|limit|balance|premium|spend|spending|expenses?|sales)s?\s*(?:of|for|in|at|on|per|by|,|\?|$)", re.I)
"""A measure asked for by its name ("What is the budget of X?", "What was Y's revenue in 2024?"):
an amount, though no 'how many' is said; the measure must be the phrase's head noun ('the rate
limit policy' asks for a policy)."""


def asks_quantity(question: str) -> bool:
    """Whether the question asks for an amount (how many, total, difference, older, or a measure by
    its name: 'the budget of X'); a question asking why or for an explanation does not, whatever
    words it uses, nor one asking for a date."""
    if _REASON.search(question):
        return False
    return bool(_NUMERIC.search(question)) or (bool(_MEASURE_ASKED.search(question))
                                               and not _DATE_ASKED.search(question))


_CALENDAR_NAMES = frozenset({"january", "february", "march", "april", "may", "june", "july", "august", "september",
                     "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
                     "saturday", "sunday"})


def unmentioned(question: str, passages: Sequence[Any]) -> str | None:
    """The name the question is about when no passage found mentions it (with several names: when
    none is mentioned), else None: the documents cannot answer what they never name, and a value
    read from a neighbour's table row would be confidently wrong. A capitalised first word, a
    month or a weekday is not a name here."""
    names = [n for n in names_in(question) if n.lower() not in _CALENDAR_NAMES
             and not (" " not in n and question.lstrip().startswith(n))]
    if not names:
        return None
    texts = [f"{getattr(p, 'heading', None) or ''}\n{getattr(p, 'text', '')}".lower() for p in passages]

    def mentioned(name: str) -> bool:
        pattern = rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])"
        return any(re.search(pattern, text) for text in texts)

    missing = [n for n in names if not mentioned(n)]
    if len(missing) == len(names):
        return " or ".join(missing)
    return None


def entities_in(question: str) -> list[str]:
    """Capitalised names in the question, skipping a leading question word."""
    found: list[str] = []
    for match in _ENTITY.finditer(question):
        words = match.group(0).split()
        while words and words[0].lower() in _QUESTION_WORDS:
            words = words[1:]
        name = re.sub(r"['\u2019]s$", "", " ".join(words)).strip()
        if name and name.lower() not in _QUESTION_WORDS and name not in found:
            found.append(name)
    return found


def focus_terms(question: str, entities: list[str]) -> str:
    """The question's content words outside the named entities, e.g. 'employees'."""
    text = question
    for entity in entities:
        text = text.replace(entity, " ")
    words = [w for w in re.findall(r"[A-Za-z][\w-]*", text) if w.lower() not in _STOP]
    return " ".join(words)


_WORD_OPERATORS = ((r"\bmultiplied by\b", "*"), (r"\btimes\b", "*"), (r"\bdivided by\b", "/"),
                   (r"\bplus\b", "+"), (r"\bminus\b", "-"), (r"\bto the power of\b", "^"), (r"\bsquared\b", "^2"),
                   (r"\bcubed\b", "^3"))


def _spelled_operators(text: str) -> str:
    """'12 times 7' as '12 * 7': arithmetic written in words is still a plain expression."""
    for pattern, operator in _WORD_OPERATORS:
        text = re.sub(pattern, f" {operator} ", text, flags=re.I)
    return text


def expression_in(question: str) -> tuple[str, str] | None:
    """(expression, operation) when the question is itself arithmetic or algebra (operators may be
    written in words: 'What is 12 times 7?')."""
    lead = _EXPRESSION_LEAD.match(question)
    body = question[lead.end():] if lead else question
    body = " ".join(_spelled_operators(body).split())
    body = body.strip().rstrip("?.!").strip()
    operation = "evaluate"
    lowered = question.lower()
    for word in ("solve", "simplify", "expand", "factor"):
        if lowered.lstrip().startswith(word):
            operation = word
    body = re.sub(r"\s+for\s+[a-z]\s*$", "", body)
    if not body or not _EXPRESSION.match(body) or not _OPERATOR.search(body) or not re.search(r"\d", body):
        return None
    letters = re.findall(r"[a-z]+", body)
    if any(len(w) > 1 and w not in {"sqrt", "factorial", "log", "sin", "cos", "tan", "ln", "exp", "pi"}
           for w in letters):
        return None
    if "=" in body and operation == "evaluate":
        operation = "solve"
    return body, operation


_DIFFERENCE = re.compile(r"\b(how many (?:more|fewer|less)|how much (?:more|less)|difference|older|younger|"
                         r"(?:years|days|months) (?:between|apart))\b", re.I)
_TOTAL = re.compile(r"\b(in total|total|together|combined|altogether|sum|in all)\b", re.I)
_RATIO = re.compile(r"\bhow many times\b", re.I)


_WHICH = re.compile(r"^\s*(?:which|who)\b", re.I)
_MOST = re.compile(r"\b(more|most|larger|largest|bigger|biggest|higher|highest|greater|younger|youngest)\b", re.I)
_LEAST = re.compile(r"\b(fewer|fewest|less|least|smaller|smallest|lower|lowest|older|oldest)\b", re.I)


def choice(question: str) -> str | None:
    """'max' or 'min' when the question asks which of the named things has the most or least
    (older means the smaller founding year)."""
    if not _WHICH.search(question):
        return None
    if _MOST.search(question):
        return "max"
    if _LEAST.search(question):
        return "min"
    return None


def combination(question: str) -> str | None:
    """How two values read from the sources combine, when the wording says so plainly."""
    if _RATIO.search(question):
        return "a / b"
    if _DIFFERENCE.search(question):
        return "abs(a - b)"
    if _TOTAL.search(question):
        return "a + b"
    return None


def date_request(question: str) -> dict[str, Any] | None:
    """Input for the dates tool when the question is calendar arithmetic."""
    dates = [m.group(0) for m in _DATE.finditer(question)]
    lowered = question.lower()
    if not dates:
        return None
    if "day of the week" in lowered or "weekday" in lowered or "what day" in lowered:
        return {"operation": "weekday", "date": dates[0]}
    span = _SPAN.search(question)
    if span:
        amount, unit, direction = int(span.group(1)), span.group(2).lower(), span.group(3).lower()
        return {"operation": "subtract" if direction == "before" else "add", "date": dates[-1],
                "span": {f"{unit}s": amount}}
    if len(dates) >= 2 and re.search(r"\b(between|from|since|until|till|to)\b", lowered):
        return {"operation": "between", "date": dates[0], "other": dates[1]}
    return None


def wants_sources(question: str) -> bool:
    """Whether a plan for this question may use the collection (not pure arithmetic or dates):
    then the retrieval steps run first, and what the main search finds shapes the plan."""
    return expression_in(question) is None and date_request(question) is None and not word_problem(question)


@dataclass(frozen=True)
class PlanRequest:
    question: str
    has_knowledge: bool
    samples: int
    temperature: float
    sample_temperature: float
    seed: int
    ensemble: tuple[str, ...] = ()
    """models the samples are spread over, one after the other (a vote across models)"""
    retrieval: RetrievalSettings = RetrievalSettings()
    adaptive_samples: int = 0
    """the most program samples while the earlier ones disagree (see `_program_count`)"""
    tools: tuple[ExternalTool, ...] = ()
    """tools of registered MCP servers the asker may use on this collection"""


def _sampling(req: PlanRequest, i: int) -> dict[str, Any]:
    """The first sample of each model at the request's temperature, later ones warmer."""
    first = i < max(len(req.ensemble), 1)
    return {"temperature": req.temperature if first else req.sample_temperature, "seed": req.seed + i}


def _sample_model(req: PlanRequest, i: int) -> str | None:
    return req.ensemble[i % len(req.ensemble)] if req.ensemble else None


def _sample_note(req: PlanRequest, i: int) -> str:
    model = _sample_model(req, i)
    return f" (model {model})" if model else ""


def rules_plan(req: PlanRequest, *, preface: Sequence[PlannedStep] = ()) -> Plan:
    """A plan chosen by the question's shape; see the module docstring. A plan made without
    knowledge starts with `preface`: retrieval steps that already ran and found nothing."""
    plan = Plan(steps=list(preface))
    expression = expression_in(req.question)
    if expression:
        plan.strategy = EXACT
        step = plan.add("calculator", {"expression": expression[0], "operation": expression[1]},
                        purpose="the question is arithmetic: compute it exactly")
        plan.reader = Calculated(calculations=[step])
        return plan
    dates = date_request(req.question)
    if dates:
        plan.strategy = EXACT
        plan.reader = Calendar(step=plan.add("dates", dates, purpose="the question is calendar arithmetic"))
        return plan
    entities = entities_in(req.question)[:3]
    numeric = asks_quantity(req.question)
    if req.has_knowledge:
        _plan_with_knowledge(plan, req, entities, numeric)
    elif word_problem(req.question) or self_contained(req.question):
        compute_plan(plan, req)
    elif general_question(req.question):
        general_plan(plan, req)
    elif preface:  # the collection was searched and holds nothing about this question
        plan.strategy, plan.reader = "not_stated", NotStated()
    else:
        plan.strategy, plan.catch_all = "answer", True
        _synthesis_samples(plan, req, passages=[], after=())
        plan.reader = Synthesized(samples=plan.ids("synthesize"), numeric=numeric)
    return plan


def compute_plan(plan: Plan, req: PlanRequest) -> Plan:
    """A problem computed from the numbers it states: programs the model writes, run in the
    sandbox and voted on, with one arithmetic expression per sample where every program failed."""
    plan.strategy = "compute"
    _program_samples(plan, req, inputs={}, described={}, after=())
    _arithmetic_fallback(plan, req, programs=tuple(plan.ids("program")))
    plan.reader = Programmed(programs=plan.ids("program"), fallback=Calculated(calculations=plan.ids("calculator")))
    return plan


def general_plan(plan: Plan, req: PlanRequest) -> Plan:
    """A general question the documents do not cover: the model answers it from what it knows, in
    one sample at the request's temperature (free-text explanations seldom agree word for word,
    so a vote would only refuse them); the answer is labelled as the model's, not the documents'."""
    plan.strategy = "general"
    for i in range(max(1, len(req.ensemble))):  # an ensemble still asks each of its models once
        plan.add("synthesize", {"question": req.question, "passage_sets": [], "fact_sets": [], **_sampling(req, i)},
                 model=_sample_model(req, i), purpose="a general question the documents do not cover: the model "
                                                      f"answers from what it knows{_sample_note(req, i)}")
    plan.reader = Synthesized(samples=plan.ids("synthesize"), numeric=answer_kind(req.question) == "number")
    return plan


def settled(plan: Plan, req: PlanRequest, passages: Sequence[Passage]) -> Plan:
    """The plan once the main search has found `passages`: a problem that states its own numbers,
    or a general question, that they are near but not about is computed from those numbers or
    answered by the model; a question about a name no passage mentions is not answered from
    them ("the documents do not state"); a question a table among them answers by row and column reads that cell;
    anything else keeps the plan made before the search."""
    if not covered(req.question, passages):
        if self_contained(req.question):
            return compute_plan(Plan(steps=plan.first_wave()), req)
        if general_question(req.question, names_allowed=True):
            return general_plan(Plan(steps=plan.first_wave()), req)
    missing = unmentioned(req.question, passages)
    if missing:
        return Plan(steps=plan.first_wave(), strategy="not_stated", reader=NotStated(missing=missing),
                    notes=[f"no passage found mentions {missing}"])
    answered = answer_from_tables(req.question, passage_tables(list(passages))) is not None
    return table_plan(req, preface=plan.first_wave(), answers=answered) or plan


def table_plan(req: PlanRequest, *, preface: Sequence[PlannedStep], answers: bool) -> Plan | None:
    """When a table in the main search's passages answers the question by row and column
    (`answers`, found by the caller from what the search returned), the plan reads that cell:
    the whole table is read, not one sampled row, and no model is asked. Not for a question that
    asks why, or that computes from values (a change, a total, a difference): one cell is not its
    answer."""
    if not answers or answer_kind(req.question) == "reason" \
            or _CHANGE.search(req.question) and not aggregates(req.question):
        return None
    plan = Plan(steps=list(preface), strategy="table")
    step = plan.add("read_table", {"question": req.question, "passages": ref(f"{MAIN_SEARCH}.passages")},
                    after=(MAIN_SEARCH,), purpose="read the cell the question asks for from a table in the passages")
    plan.reader = Tabulated(step=step, searches=[s.id for s in preface if s.tool == "search"])
    return plan


def remembered_plan(req: PlanRequest, passages: list[dict[str, Any]], *,
                    preface: Sequence[PlannedStep] = ()) -> Plan:
    """Memory holds an approved answer to the same question (judged so by the recall step): the
    answer is read from it (a quantity: `extract_value`, which may only choose numbers it states)
    or written from it (anything else: `synthesize`), and the passage it named, by the usual
    samples; the vote and the verification against those passages follow as for any plan."""
    plan = Plan(steps=list(preface), strategy="remembered")
    if asks_quantity(req.question):
        for i in range(req.samples):
            plan.add("extract_value", {"target": req.question, "passages": passages, **_sampling(req, i)},
                     model=_sample_model(req, i),
                     purpose=f"sample {i + 1}: read the quantity from the approved answer to the same question"
                             f"{_sample_note(req, i)}")
        plan.reader = Extracted(samples=plan.ids("extract_value"))
        return plan
    _synthesis_samples(plan, req, passages=[passages], after=())
    plan.reader = Synthesized(samples=plan.ids("synthesize"))
    return plan


def _plan_with_knowledge(plan: Plan, req: PlanRequest, entities: list[str], numeric: bool) -> None:
    focus = focus_terms(req.question, entities)
    main = plan.add("search", req.retrieval.search(req.question), purpose="find passages about the question")
    per_entity: list[tuple[str, str]] = []
    if len(entities) >= 2:
        for entity in entities:
            step = plan.add("search", req.retrieval.search(f"{entity} {focus}".strip(),
                                                           k=max(req.retrieval.depth - 1, 1)),
                            purpose=f"find passages about {entity}")
            per_entity.append((entity, step))
    graph = [plan.add("graph_lookup", {"name": e}, purpose=f"facts about {e} from the knowledge graph")
             for e in entities[:2]]
    if numeric and len(per_entity) >= 2 and not stated_numbers(req.question):
        plan.strategy = "compute"
        names = "abc"
        values, variables, extracts = {}, {}, []
        quantity = "founding year" if _AGE.search(req.question) else focus
        for (entity, search), name in zip(per_entity, names, strict=False):
            extract = plan.add("extract_value", {"target": f"the {quantity} of {entity}".strip(), "about": entity,
                                                 "passages": ref(f"{search}.passages")},
                               after=(search,), purpose=f"read the {quantity} of {entity} from its passage")
            values[name] = f"{quantity} of {entity}"
            variables[name] = ref(f"{extract}.value")
            extracts.append(extract)
        pick = choice(req.question)
        if pick:
            compare = plan.add("compare", {"values": {e: variables[n] for (e, _), n in
                                                      zip(per_entity, names, strict=False)},
                                           "pick": pick}, after=tuple(extracts),
                               purpose=f"pick the {'largest' if pick == 'max' else 'smallest'} {quantity}")
            plan.reader = Compared(compare=compare, extracts=extracts, searches=plan.ids("search"))
            return
        combine = combination(req.question) if len(extracts) == 2 else None
        if combine:
            plan.add("calculator", {"expression": combine, "variables": variables}, after=tuple(extracts),
                     purpose=f"combine the two values exactly: {combine}")
            plan.reader = Calculated(calculations=plan.ids("calculator"), extracts=extracts,
                                     searches=plan.ids("search"))
            return
        _program_samples(plan, req, inputs=variables, described=values, after=tuple(extracts))
        plan.reader = Programmed(programs=plan.ids("program"), extracts=extracts, searches=plan.ids("search"))
        return
    if numeric and not stated_numbers(req.question):
        plan.strategy = "extract"
        first: list[str] = []
        for i in range(req.samples):
            first.append(plan.add(
                "extract_value", {"target": req.question, "passages": ref(f"{main}.passages"), **_sampling(req, i)},
                after=(main,), model=_sample_model(req, i), unless_agreed=_agreeing(req, first),
                purpose=f"sample {i + 1}: read the quantity asked for from the passages{_sample_note(req, i)}"))
        plan.reader = Extracted(samples=plan.ids("extract_value"), searches=plan.ids("search"), question=req.question)
        return
    plan.strategy, plan.catch_all = "answer", True
    if len(entities) == 2:
        graph.append(plan.add("graph_path", {"source": entities[0], "target": entities[1]},
                              purpose=f"how {entities[0]} and {entities[1]} are connected in the graph"))
    sources = [main] + [s for _, s in per_entity]
    passages = [ref(f"{s}.passages") for s in sources]
    facts = [ref(f"{g}.facts") for g in graph]
    _synthesis_samples(plan, req, passages=passages, facts=facts, after=tuple(sources + graph))
    plan.reader = Synthesized(samples=plan.ids("synthesize"), searches=plan.ids("search"), numeric=numeric)


def _arithmetic_fallback(plan: Plan, req: PlanRequest, *, programs: tuple[str, ...]) -> None:
    """When every program failed (a small model that cannot write Python), the model writes one
    arithmetic expression per sample instead, under a JSON schema, and SymPy computes it."""
    for i in range(req.samples):
        formulate = plan.add("formulate", {"question": req.question, "values": {}, **_sampling(req, i)},
                             if_all_failed=programs, model=_sample_model(req, i),
                             purpose=f"sample {i + 1}, if no program ran: write the arithmetic instead")
        plan.add("calculator", {"expression": ref(f"{formulate}.expression"), "variables": {}}, after=(formulate,),
                 purpose=f"sample {i + 1}, if no program ran: compute it exactly")


ADAPTIVE_AFTER = 2
"""Samples beyond this many run only while the earlier ones do not settle the vote (one answer
leads the next by 2; adaptive self-consistency); not with an ensemble, whose point is that every
model answers."""


def _agreeing(req: PlanRequest, earlier: list[str]) -> tuple[str, ...]:
    if req.ensemble or len(earlier) < ADAPTIVE_AFTER:
        return ()
    return tuple(earlier)


def _program_count(req: PlanRequest) -> int:
    """Programs to plan: `samples`, or up to `adaptive_samples` when at least 3 were asked for (the
    ones beyond the first two run only while the vote is unsettled)."""
    if req.ensemble or req.samples <= ADAPTIVE_AFTER:
        return req.samples
    return max(req.samples, req.adaptive_samples)


def _program_samples(plan: Plan, req: PlanRequest, *, inputs: dict[str, Any], described: dict[str, str],
                     after: tuple[str, ...]) -> None:
    """Program-aided reasoning: each sample is a program the model writes, run in the sandbox."""
    first: list[str] = []
    for i in range(_program_count(req)):
        first.append(plan.add(
            "program", {"question": req.question, "inputs": inputs, "described": described, **_sampling(req, i)},
            after=after, model=_sample_model(req, i), unless_agreed=_agreeing(req, first),
            purpose=f"sample {i + 1}: write a program that computes the answer and run it{_sample_note(req, i)}"))


def _synthesis_samples(plan: Plan, req: PlanRequest, *, passages: list[Any], after: tuple[str, ...],
                       facts: list[Any] | None = None) -> None:
    first: list[str] = []
    for i in range(req.samples):
        first.append(plan.add(
            "synthesize", {"question": req.question, "passage_sets": passages, "fact_sets": facts or [],
                           **_sampling(req, i)}, after=after, model=_sample_model(req, i),
            unless_agreed=_agreeing(req, first),
            purpose=f"sample {i + 1}: write the answer from the sources{_sample_note(req, i)}"))


def chosen_tool(question: str, tools: Sequence[ExternalTool]) -> ExternalTool | None:
    """The registered tool the question asks to use, by its name ('ticket_status' or 'ticket
    status', or 'server/tool'); the longest name named wins. None when it names none."""
    asked = " ".join(re.sub(r"[_\-/]+", " ", question.lower()).split())
    named = []
    for tool in tools:
        for name in (tool.name, tool.ref):
            words = " ".join(re.sub(r"[_\-/]+", " ", name.lower()).split())
            if len(words) >= 3 and re.search(rf"(?<![\w]){re.escape(words)}(?![\w])", asked):
                named.append((len(words), tool))
    return max(named, key=lambda n: n[0])[1] if named else None


def tool_arguments(question: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments the question states plainly: a property with a pattern takes the first text
    matching it, one with an enum the value the question names, a number or integer the only
    number the question states. The rest are left to the model."""
    found: dict[str, Any] = {}
    properties = schema.get("properties") or {}
    rest = question  # the question without the text a pattern already took (TCK-1042 is no number)
    for key, spec in properties.items() if isinstance(properties, Mapping) else ():
        pattern = spec.get("pattern") if isinstance(spec, Mapping) else None
        if isinstance(pattern, str) and spec.get("type", "string") == "string":
            try:
                match = re.search(pattern.lstrip("^").rstrip("$"), question)
            except re.error:
                match = None
            if match:
                found[key] = match.group(0)
                rest = rest.replace(match.group(0), " ")
    numbers = stated_numbers(rest)
    for key, spec in properties.items() if isinstance(properties, Mapping) else ():
        if not isinstance(spec, Mapping) or key in found or isinstance(spec.get("pattern"), str):
            continue
        if isinstance(spec.get("enum"), list):
            named = [v for v in spec["enum"] if isinstance(v, str) and re.search(
                rf"(?<!\w){re.escape(v.lower())}(?!\w)", question.lower())]
            if len(named) == 1:
                found[key] = named[0]
        elif spec.get("type") in ("integer", "number") and len(numbers) == 1:
            value = numbers[0].replace(",", "")
            try:
                found[key] = int(value) if spec["type"] == "integer" else float(value)
            except ValueError:
                continue
    return found


def tool_plan(req: PlanRequest, tool: ExternalTool) -> Plan:
    """The question asks to use a registered tool: call it (its arguments read from the question,
    the rest written by the model under its schema), then write the answer from what it returned,
    which the answer cites and verification checks."""
    plan = Plan(strategy="tool")
    call = plan.add("mcp_call", {"tool": tool.ref, "question": req.question, "schema": tool.schema,
                                 "arguments": tool_arguments(req.question, tool.schema)},
                    purpose=f"call {tool.ref}: {tool.description[:120]}")
    _synthesis_samples(plan, req, passages=[ref(f"{call}.passages")], after=(call,))
    plan.reader = Synthesized(samples=plan.ids("synthesize"), searches=[call],
                              numeric=answer_kind(req.question) == "number")
    return plan
