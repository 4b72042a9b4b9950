"""A value or a claim is read only from a passage that names what the question singles out: the
Oslo office's staff is not the Hamburg office's, and 2026's revenue is not 2024's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from sutazai.lib.models import ChatMessage
from sutazai.reasoning.grounding import grounded, required_terms
from sutazai.reasoning.tools.answering import VerifyInput, check_claims
from sutazai.reasoning.tools.base import ToolContext
from sutazai.reasoning.tools.knowledge import Passage
from sutazai.reasoning.tools.modeltools import ExtractInput, ExtractValue
from tests.unit.fakes import FakeModel

OFFICES = Passage(chunk_id="c1", document_id="d1", source="offices.md", score=1.0, heading="Offices",
                  text="| Office | City | Staff |\n|---|---|---|\n| Head office | Oslo | 310 |\n"
                       "| Bergen office | Bergen | 240 |")
REPORT = Passage(chunk_id="c2", document_id="d2", source="q3.md", score=1.0,
                 text="Group revenue rose to 138.5 million EUR in the third quarter of 2026. The group's operating "
                      "margin was 11.2 percent.")
CONTRACTS = Passage(chunk_id="c3", document_id="d3", source="contracts.txt", score=1.0,
                    text="Contract C-103 with Skarv Fuels ends on 2028-06-30.")


@pytest.mark.parametrize(("question", "passage", "about"), [
    ("How many staff work at the Bergen office?", OFFICES, True),
    ("How many staff work at the Hamburg office?", OFFICES, False),  # a name the passage does not hold
    ("What was the group's operating margin in the third quarter of 2026?", REPORT, True),
    ("What was the group's net profit in the third quarter of 2026?", REPORT, False),  # a measure it does not
    ("What was group revenue in 2024?", REPORT, False),  # a year it does not
    ("When does contract C-103 end?", CONTRACTS, True),
    ("When does contract C-110 end?", CONTRACTS, False),  # a code it does not
    ("How many more staff does the Bergen office have than the Oslo office?", OFFICES, True),  # one of two names
    ("Who is the chief executive of Tidewell Labs?",
     Passage(chunk_id="c4", document_id="d4", source="t.txt", score=1.0,
             text="Jonas Berg works at Tidewell Labs. Tidewell Labs employs 85 people."), False),  # a role it does not
])
def test_a_passage_is_about_a_question_only_when_it_names_what_the_question_singles_out(
        question: str, passage: Passage, about: bool) -> None:
    assert grounded(question, f"{passage.heading or ''}\n{passage.text}") is about, required_terms(question)


def first_allowed(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> Any:
    del messages
    return {"value": (schema or {})["properties"]["value"]["enum"][0]}


async def test_no_number_is_read_for_a_question_about_something_the_passages_do_not_name() -> None:
    model = FakeModel(first_allowed)
    tool = ExtractValue(lambda _kind: model)
    ctx = ToolContext(collection=None, credential=None, today=dt.date(2026, 12, 4))
    hamburg = await tool.run(ExtractInput(target="How many staff work at the Hamburg office?",
                                          passages=[OFFICES, REPORT]), ctx)
    assert hamburg.value is None and model.chats == []  # type: ignore[attr-defined]  # nothing to choose from
    bergen = await tool.run(ExtractInput(target="How many staff work at the Bergen office?", passages=[OFFICES]), ctx)
    assert bergen.value is not None  # type: ignore[attr-defined]
    # a value read for one of two named things: the target and the thing it is about are checked apart
    about = await tool.run(ExtractInput(target="the staff of Bergen office", about="Bergen office",
                                        passages=[OFFICES]), ctx)
    assert about.value is not None  # type: ignore[attr-defined]  # kept: it names Bergen office


def test_a_claim_is_not_backed_by_a_passage_about_another_contract() -> None:
    out = check_claims(VerifyInput(answer="It ends on 2028-06-30.", passages=[CONTRACTS],
                                   question="When does contract C-110 end?"))
    assert [c.supported for c in out.claims] == [False]
    out = check_claims(VerifyInput(answer="It ends on 2028-06-30.", passages=[CONTRACTS],
                                   question="When does contract C-103 end?"))
    assert [c.supported for c in out.claims] == [True]
