"""The answer sent as it is written: the field reader that follows a JSON object being written,
and the reasoner sending the first sample's answer to a listener (a fake model at the model
interface, fake knowledge tools)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sutazai.reasoning.answers import AskOptions
from sutazai.reasoning.tools.modeltools import FieldReader
from tests.unit.fakes import FakeModel
from tests.unit.reasoning.test_reasoner import ORVANE, USER, FakeSearch, reasoner, scripted

HARD = 'He said "stop" \\ then\tleft\nNaïve café — 東京 😀 done'


def read_in_pieces(text: str, size: int, name: str = "answer") -> list[str]:
    reader = FieldReader(name)
    return [reader.feed(text[i:i + size]) for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
@pytest.mark.parametrize("ascii_only", [True, False])
def test_the_field_is_decoded_whatever_the_pieces(size: int, ascii_only: bool) -> None:
    written = json.dumps({"answer": HARD, "sources": [1, 2]}, ensure_ascii=ascii_only)
    pieces = read_in_pieces(written, size)
    assert "".join(pieces) == HARD
    assert all("\\u" not in p and not (len(p) == 1 and 0xD800 <= ord(p) < 0xE000) for p in pieces)


def test_the_field_may_come_after_others_and_a_lookalike_inside_a_string_is_not_it() -> None:
    written = json.dumps({"note": 'quoting "answer": "no"', "sources": [3], "answer": "Tallinn"})
    assert "".join(read_in_pieces(written, 4)) == "Tallinn"


def test_nothing_is_sent_before_the_field_opens_and_nothing_after_it_closes() -> None:
    reader = FieldReader("answer")
    assert reader.feed('{"sources": [1], "ans') == ""
    assert reader.feed('wer": "Tal') == "Tal"
    assert reader.feed('linn", "x": "more"}') == "linn"
    assert reader.feed("") == ""


def test_a_bad_escape_becomes_a_replacement_character_not_an_error() -> None:
    assert "".join(read_in_pieces('{"answer": "a\\uZZZZb"}', 3)) == "a\ufffdb"


async def test_a_listener_receives_the_first_samples_answer_as_it_is_written() -> None:
    found, traces, _ = reasoner(FakeSearch([ORVANE]), FakeModel(scripted(answers=("Orvane Systems is in Tallinn.",))))
    events: list[tuple[str, dict[str, Any]]] = []

    async def listen(kind: str, data: dict[str, Any]) -> None:
        events.append((kind, data))

    answer = await found.ask(question="Where is Orvane Systems?", principal=USER, collection=None,
                             options=AskOptions(), credential="szk_fake", emit=listen)
    kinds = [k for k, _ in events]
    drafts = [d for k, d in events if k == "draft"]
    assert len(drafts) > 3 and len({d["step"] for d in drafts}) == 1  # one step drafts, in several pieces
    assert "".join(d["delta"] for d in drafts) == "Orvane Systems is in Tallinn."
    trace = traces.traces[answer.trace_id]
    writer = drafts[0]["step"]
    assert next(s for s in trace["steps"] if s["step_id"] == writer)["tool"] == "synthesize"
    verify_at = next(i for i, (k, d) in enumerate(events) if k == "step" and d["tool"] == "verify")
    assert kinds.index("draft") < verify_at < kinds.index("answer")  # written before it is checked
    assert answer.answer.startswith("Orvane Systems is in Tallinn.")
    assert trace["steps"][[s["step_id"] for s in trace["steps"]].index(writer)]["completion_tokens"] == 5


async def test_without_a_listener_nothing_is_drafted_and_the_model_is_not_streamed() -> None:
    model = FakeModel(scripted(answers=("Orvane Systems is in Tallinn.",)))
    streamed: list[bool] = []
    original = model.stream

    def spy(*args: Any, **kwargs: Any) -> Any:
        streamed.append(True)
        return original(*args, **kwargs)

    model.stream = spy  # type: ignore[method-assign]
    found, _, _ = reasoner(FakeSearch([ORVANE]), model)
    answer = await found.ask(question="Where is Orvane Systems?", principal=USER, collection=None,
                             options=AskOptions(), credential="szk_fake")
    assert answer.answer.startswith("Orvane Systems is in Tallinn.") and streamed == []
