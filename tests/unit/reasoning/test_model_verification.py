"""Claims the words of the sources cannot back go to the model routed for "verify" (when it
suits verifying); the model may never back a number that no source states and no tool computed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sutazai.lib.models import ChatMessage
from sutazai.reasoning.tools.answering import ENTAIL_SCHEMA, Verify, VerifyInput, VerifyOutput
from sutazai.reasoning.tools.base import ToolContext
from sutazai.reasoning.tools.knowledge import Passage
from tests.unit.fakes import FakeModel

PASSAGE = Passage(chunk_id="c1", document_id="d1", source="firm.txt", score=1.0,
                  text="Dellwyn Textiles bought Ironvale Logistics in 1984. Dellwyn Textiles employs 2,473 people.")


def ctx() -> ToolContext:
    return ToolContext(collection="c", credential=None, today=dt.date(2026, 1, 1))


def judge(stated: bool) -> tuple[FakeModel, list[str]]:
    asked: list[str] = []

    def reply(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> Any:
        assert schema == ENTAIL_SCHEMA
        asked.append(messages[-1].content)
        return {"stated": stated}

    return FakeModel(reply, name="judge"), asked


async def test_a_paraphrase_the_words_miss_is_backed_by_the_verify_model() -> None:
    model, asked = judge(True)
    verify = Verify({"verify": model}.__getitem__, use_model=lambda: True)  # it reads the "verify" route
    out = await verify.run(VerifyInput(answer="The Ironvale company was purchased by the Dellwyn group in 1984.",
                                       passages=[PASSAGE]), ctx())
    assert isinstance(out, VerifyOutput)
    (claim,) = out.claims
    assert claim.supported and claim.chunk_ids == ["c1"] and claim.checked_by == "judge"
    assert len(asked) == 1 and "<passage>" in asked[0]


async def test_a_number_no_source_states_is_never_backed_by_the_model() -> None:
    model, asked = judge(True)
    verify = Verify({"verify": model}.__getitem__, use_model=lambda: True)
    out = await verify.run(VerifyInput(answer="Dellwyn Textiles acquired Ironvale in 1991.", passages=[PASSAGE]),
                           ctx())
    assert isinstance(out, VerifyOutput)
    assert not out.claims[0].supported and asked == []


async def test_without_a_suitable_model_only_the_words_decide() -> None:
    model, asked = judge(True)
    verify = Verify({"verify": model}.__getitem__, use_model=lambda: False)
    out = await verify.run(VerifyInput(answer="The Ironvale company was purchased by the Dellwyn group in 1984.",
                                       passages=[PASSAGE]), ctx())
    assert isinstance(out, VerifyOutput)
    assert not out.claims[0].supported and asked == [] and out.claims[0].checked_by == "words"


async def test_a_model_that_says_no_leaves_the_claim_unsupported() -> None:
    model, asked = judge(False)
    verify = Verify({"verify": model}.__getitem__, use_model=lambda: True)
    out = await verify.run(VerifyInput(answer="The Ironvale company was purchased by the Dellwyn group in 1984.",
                                       passages=[PASSAGE]), ctx())
    assert isinstance(out, VerifyOutput)
    assert not out.claims[0].supported and len(asked) == 1 and out.supported_fraction == 0.0
