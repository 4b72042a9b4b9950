"""Point 2 of reading tables, on the enterprise suite's own documents: parsed and chunked by the
knowledge service's code, read by the reasoning service's table reader, gated as the planner gates
it. Every cell it reads must be the right answer (a table read is cited and confident, so a wrong
one is the worst outcome), and it must answer the table questions."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from sutazai.knowledge.chunking import chunk_document
from sutazai.knowledge.parsing import media_type_for, parse
from sutazai.learning import enterprise_suite
from sutazai.learning.scoring import is_right
from sutazai.learning.suites import Case
from sutazai.reasoning.planning import PlanRequest, table_plan, wants_sources
from sutazai.reasoning.tables import answer_from_tables
from sutazai.reasoning.tools.knowledge import Passage
from sutazai.reasoning.tools.table import passage_tables


def _passages() -> list[Passage]:
    out = []
    for name, text in enterprise_suite.DOCUMENTS.items():
        for chunk in chunk_document(parse(text.encode(), media_type_for(name, None))):
            out.append(Passage(chunk_id=f"{name}:{chunk.ordinal}", document_id=name, source=name, text=chunk.text,
                               score=1.0, heading=chunk.heading))
    return out


def _case(raw: dict[str, object]) -> Case:
    answer = raw["answer"]
    numeric = Decimal(str(answer)) if isinstance(answer, int | float) else None
    return Case(case_id=str(raw["id"]), question=str(raw["question"]), numeric=numeric,
                answers=list(answer) if isinstance(answer, list) else [],  # type: ignore[arg-type]
                tolerance=Decimal(str(raw.get("tolerance", 0))), tags=list(raw["tags"]))  # type: ignore[arg-type]


def test_every_cell_read_from_the_enterprise_tables_is_right_and_the_table_questions_are_answered() -> None:
    tables = passage_tables(_passages())
    assert len(tables) == 9  # leave, travel (HTML), purchasing, revenue, contracts (tabs), org, offices, ...
    read, wrong = Counter[str](), []
    for raw in enterprise_suite.cases():
        question, kind = str(raw["question"]), list(raw["tags"])[1]  # type: ignore[call-overload]
        request = PlanRequest(question=question, has_knowledge=True, samples=3, temperature=0.0,
                              sample_temperature=0.7, seed=0)
        cell = answer_from_tables(question, tables) if wants_sources(question) else None
        if cell is None or table_plan(request, preface=[], answers=True) is None:
            continue
        if is_right(_case(raw), cell.answer):
            read[kind] += 1
        else:
            wrong.append((question, cell.answer, cell.how))
    assert wrong == []
    assert read["condition"] >= 13 and read["table"] >= 10 and read["superlative"] >= 10 and read["multihop"] >= 5
    assert read["unanswerable"] == 0
