"""How each kind of plan turns its steps' results into an answer candidate. The planner picks a
strategy and builds its steps; the strategy's reader knows the ids of the steps it planned and
reads their typed outputs, so nothing here switches on tool names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from sutazai.reasoning.consistency import Vote, normalize_number, vote
from sutazai.reasoning.steps import StepRecord, result_of
from sutazai.reasoning.tools.answering import REFUSAL, SynthesizeOutput
from sutazai.reasoning.tools.calculator import CalculatorOutput, CompareOutput
from sutazai.reasoning.tools.dates import DateOutput
from sutazai.reasoning.tools.knowledge import Passage, SearchOutput
from sutazai.reasoning.tools.modeltools import ExtractOutput, numbers_in
from sutazai.reasoning.tools.program import ProgramOutput
from sutazai.reasoning.tools.table import ReadTableOutput
from sutazai.reasoning.units import scale

Records = Mapping[str, StepRecord]


@dataclass
class Outcome:
    """What the steps produced, before verification."""

    text: str | None = None
    vote: Vote = field(default_factory=Vote)
    passages: list[Passage] = field(default_factory=list)
    cited: list[str] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    failure: str | None = None


class OutcomeReader(Protocol):
    def read(self, records: Records) -> Outcome: ...


PLAIN_FAILURES = {
    "search": "the documents could not be searched",
    "graph_lookup": "the knowledge graph could not be read",
    "graph_path": "the knowledge graph could not be read",
    "recall": "the answers approved before could not be read",
}
"""What a person is told when a step fails; the step's own error (a model's malformed output, a
service's status) stays in the trace, for whoever may read it."""
SHOWN_ERRORS = ("calculator", "compare", "dates")
"""Tools whose errors are about the question itself (an expression that divides by zero, a date
that does not exist): those are shown as they are."""


def plain_failure(record: StepRecord) -> str:
    if record.tool in SHOWN_ERRORS and record.error:
        return f"the {record.tool} step could not be done: {record.error}"
    return PLAIN_FAILURES.get(record.tool, "the model did not write a usable answer") + " (the trace has the details)"


def first_failure(records: Records) -> str | None:
    """The first step that failed, as a reason a person can read (no internals)."""
    return next((plain_failure(r) for r in records.values() if r.status == "error"), None)


def ran(records: Records, samples: Sequence[str]) -> list[str]:
    """The samples that count in a vote: all but those skipped because earlier samples agreed."""
    return [i for i in samples if not ((r := records.get(i)) is not None and r.status == "skipped"
                                       and (r.error or "").startswith("skipped: the earlier samples agree"))]


def passages_of(records: Records, searches: Sequence[str]) -> list[Passage]:
    """Every passage the searches found, once each, in the order found."""
    found: dict[str, Passage] = {}
    for step_id in searches:
        out = result_of(records.get(step_id), SearchOutput)
        for passage in out.passages if out else []:
            found.setdefault(passage.chunk_id, passage)
    return list(found.values())


def _extracts(records: Records, ids: Sequence[str]) -> list[ExtractOutput]:
    """The values read from the sources (steps that found none are left out)."""
    found = [result_of(records.get(i), ExtractOutput) for i in ids]
    return [e for e in found if e is not None and e.value]


def _quotes(extracts: Sequence[ExtractOutput]) -> list[str]:
    return [f"The source says: \u201c{e.quote}\u201d" for e in extracts]


NOT_STATED = "the documents do not state the answer to this question"


@dataclass(frozen=True)
class NotStated:
    """The collection was searched and holds nothing about the question: no answer is made up.
    `missing` names what the question is about that no passage found mentions."""

    missing: str | None = None

    def read(self, records: Records) -> Outcome:
        if self.missing:
            return Outcome(failure=first_failure(records) or
                           f"the documents do not state this: no passage found mentions {self.missing}")
        return Outcome(failure=first_failure(records) or NOT_STATED)


@dataclass(frozen=True)
class Synthesized:
    """Strategy 'answer': several samples write the answer from the sources; the vote decides."""

    samples: Sequence[str]
    searches: Sequence[str] = ()
    numeric: bool = False

    def read(self, records: Records) -> Outcome:
        outputs = [result_of(records.get(i), SynthesizeOutput) for i in ran(records, self.samples)]
        result = vote([o.answer if o else None for o in outputs], numeric=self.numeric)
        shown = [o for o in outputs if o is not None]
        considered = {p.chunk_id: p for o in shown for p in o.considered}
        winner = next((o for o in shown if o.answer == result.winner), None)
        if result.winner and considered and REFUSAL.search(result.winner):  # the sources lack it: say so
            return Outcome(vote=result, passages=list(considered.values()), failure=NOT_STATED)
        return Outcome(text=result.winner, vote=result,
                       passages=list(considered.values()) or passages_of(records, self.searches),
                       cited=[p.chunk_id for p in winner.cited] if winner else [], failure=first_failure(records))


@dataclass(frozen=True)
class Extracted:
    """Strategy 'extract': samples read the quantity asked for from the passages; the vote decides."""

    samples: Sequence[str]
    searches: Sequence[str] = ()
    question: str = ""
    """the question, for a rate it asks about over a longer period ('in a year' of '30 EUR per month')"""

    def read(self, records: Records) -> Outcome:
        outputs = [result_of(records.get(i), ExtractOutput) for i in ran(records, self.samples)]
        result = vote([o.value if o else None for o in outputs], numeric=True)
        winner = next((o for o in outputs if o is not None and o.value == result.winner), None)
        if winner is None or winner.value is None:
            return Outcome(vote=result, failure=first_failure(records) or "no passage states the quantity asked for")
        quoted = f"The source says: \u201c{winner.quote}\u201d"
        passages, cited = passages_of(records, self.searches), [str(winner.chunk_id)]
        scaled = scale(self.question, winner.quote or "", winner.value) if self.question else None
        base = normalize_number(winner.value)
        if scaled is not None and base is not None:
            factor, stated, asked = scaled
            total = normalize_number(str(Decimal(base) * factor)) or base
            return Outcome(text=f"{total}. {quoted} Computed exactly: {winner.value} per {stated} \u00d7 {factor} "
                                f"{stated}s a {asked} = {total}.", vote=result, passages=passages, cited=cited,
                           computed=[total, winner.value, str(factor)])
        return Outcome(text=f"{winner.value}. {quoted}", vote=result, passages=passages, cited=cited,
                       computed=[winner.value])


@dataclass(frozen=True)
class Compared:
    """Strategy 'compute' for 'which of them has more/less': values read from each entity's
    passages, compared exactly."""

    compare: str
    extracts: Sequence[str]
    searches: Sequence[str] = ()

    def read(self, records: Records) -> Outcome:
        record = records.get(self.compare)
        out = result_of(record, CompareOutput)
        if record is None or out is None:
            return Outcome(vote=Vote(samples=1), failure=first_failure(records))
        extracts = _extracts(records, self.extracts)
        values = record.input["values"]
        sentences = [f"{out.choice}.", *_quotes(extracts),
                     "Compared exactly: " + ", ".join(f"{name} {values[name]}" for name in out.ranking) + "."]
        return Outcome(text=" ".join(sentences), vote=Vote(winner=out.choice, votes=1, samples=1),
                       passages=passages_of(records, self.searches), cited=[str(e.chunk_id) for e in extracts],
                       computed=[str(v) for v in values.values()])


@dataclass(frozen=True)
class Calculated:
    """Strategy 'compute': one or more calculator samples (of expressions the question states,
    the wording fixes, or the model wrote), voted on; values read from sources are quoted."""

    calculations: Sequence[str]
    extracts: Sequence[str] = ()
    searches: Sequence[str] = ()

    def read(self, records: Records) -> Outcome:
        samples = [records.get(i) for i in self.calculations]
        outputs = [result_of(r, CalculatorOutput) for r in samples]
        values = [(o.value or o.result) if o else None for o in outputs]
        result = vote(values, numeric=True)
        winner = next((i for i, v in enumerate(values) if v == result.winner), None)
        record, out = (samples[winner], outputs[winner]) if winner is not None else (None, None)
        if record is None or out is None:
            return Outcome(vote=result, failure=first_failure(records))
        extracts = _extracts(records, self.extracts)
        expression = _substituted(str(record.input.get("expression")), record.input.get("variables") or {})
        exact = out.result
        sentences = [f"{result.winner}." if exact == result.winner else f"{result.winner} (exactly {exact}).",
                     *_quotes(extracts), f"Computed exactly: {expression} = {exact}."]
        computed = [normalize_number(str(result.winner)) or str(result.winner), *numbers_in(expression),
                    *numbers_in(exact), *(str(e.value) for e in extracts)]
        return Outcome(text=" ".join(sentences), vote=result, passages=passages_of(records, self.searches),
                       cited=[str(e.chunk_id) for e in extracts], computed=computed)


@dataclass(frozen=True)
class Programmed:
    """Strategy 'compute' by programs: several samples of a program written by the model, each run
    in the sandbox; their results are voted on, and values read from the sources are quoted."""

    programs: Sequence[str]
    extracts: Sequence[str] = ()
    searches: Sequence[str] = ()
    fallback: OutcomeReader | None = None
    """what reads the answer when no program ran (the arithmetic written instead)"""

    def read(self, records: Records) -> Outcome:
        outputs = [result_of(records.get(i), ProgramOutput) for i in ran(records, self.programs)]
        if self.fallback is not None and not any(outputs):
            return self.fallback.read(records)
        result = vote([o.result if o else None for o in outputs], numeric=True)
        winner = next((o for o in outputs if o is not None and o.result == result.winner), None)
        if winner is None or result.winner is None:
            return Outcome(vote=result, failure=first_failure(records) or "no program computed an answer")
        extracts = _extracts(records, self.extracts)
        agreed = f"{result.votes} of {result.samples} programs" if result.samples > 1 else "a program"
        sentences = [f"{result.winner}.", *_quotes(extracts), f"Computed by {agreed} run in the sandbox."]
        computed = [normalize_number(result.winner) or result.winner, *(str(v) for v in winner.inputs.values()),
                    *(str(e.value) for e in extracts), str(result.votes), str(result.samples)]
        return Outcome(text=" ".join(sentences), vote=result, passages=passages_of(records, self.searches),
                       cited=[str(e.chunk_id) for e in extracts], computed=computed)


@dataclass(frozen=True)
class Tabulated:
    """Strategy 'table': a cell read from a table in the passages by row and column."""

    step: str
    searches: Sequence[str] = ()

    def read(self, records: Records) -> Outcome:
        out = result_of(records.get(self.step), ReadTableOutput)
        if out is None:
            return Outcome(vote=Vote(samples=1), failure=first_failure(records))
        where = f"the table in {out.source}" if out.source else "the table"
        if out.ranking:
            said = f"{out.answer}. In {where}, {out.row_label} has {out.how} ({out.column} {out.value}): " \
                   + ", ".join(out.ranking[:10]) + "."
        else:
            said = f"{out.answer}. In {where}, {out.column} for {out.row_label} is {out.value} ({out.how})."
        passages = passages_of(records, self.searches)
        return Outcome(text=said, vote=Vote(winner=out.answer, key=out.answer, votes=1, samples=1, groups=1),
                       passages=passages, cited=[out.chunk_id] if out.chunk_id else [],
                       computed=[n for cell in [out.value, *out.row, *out.ranking] for n in numbers_in(cell)])


def _substituted(expression: str, variables: Mapping[str, object]) -> str:
    """The expression with its one-letter variables replaced by their values, for people to read."""
    if not variables:
        return expression
    return re.sub(r"\b[a-z]\b", lambda m: str(variables.get(m.group(0), m.group(0))), expression)


@dataclass(frozen=True)
class Calendar:
    """Strategy 'compute' for calendar arithmetic: the date tool's answer."""

    step: str

    def read(self, records: Records) -> Outcome:
        out = result_of(records.get(self.step), DateOutput)
        if out is None:
            return Outcome(vote=Vote(samples=1), failure=first_failure(records))
        return Outcome(text=out.result, vote=Vote(winner=out.result, votes=1, samples=1),
                       computed=[str(out.days)] if out.days is not None else [])
