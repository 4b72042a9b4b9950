"""The confidence is a pure function of an answer's features (the seam metacognition takes over)."""

from __future__ import annotations

import pytest

from sutazai.lib.confidence import AnswerFeatures
from sutazai.lib.confidence import prior as confidence


@pytest.mark.parametrize(("agreement", "supported", "expected"), [
    (1.0, 1.0, 1.0),
    (1.0, None, 0.45),  # nothing could be checked and nothing computed: the model's word alone is capped
    (2 / 3, 1.0, 0.667),
    (2 / 3, 0.5, 0.333),
    (1.0, 0.0, 0.0),
    (0.0, None, 0.0),
])
def test_confidence_is_agreement_times_supported_share(agreement: float, supported: float | None,
                                                       expected: float) -> None:
    assert confidence(AnswerFeatures(agreement=agreement, supported_fraction=supported)) == expected


def test_more_support_or_agreement_never_lowers_confidence() -> None:
    grid = [i / 10 for i in range(11)]
    for a in grid:
        scores = [confidence(AnswerFeatures(agreement=a, supported_fraction=s)) for s in grid]
        assert scores == sorted(scores) and all(0.0 <= x <= 1.0 for x in scores)


def test_an_answer_nothing_backs_cannot_carry_high_confidence_unless_a_tool_computed_it() -> None:
    assert confidence(AnswerFeatures(agreement=1.0, supported_fraction=None)) == 0.45
    assert confidence(AnswerFeatures(agreement=0.3, supported_fraction=None)) == 0.3
    assert confidence(AnswerFeatures(agreement=1.0, supported_fraction=None, computed=True)) == 1.0


def test_a_general_answer_from_the_model_has_its_own_ceiling() -> None:
    assert confidence(AnswerFeatures(agreement=1.0, supported_fraction=None, strategy="general")) == 0.6
    assert confidence(AnswerFeatures(agreement=0.4, supported_fraction=None, strategy="general")) == 0.4


def test_a_failed_step_is_told_plainly_and_its_internals_stay_in_the_trace() -> None:
    from sutazai.reasoning.steps import StepRecord
    from sutazai.reasoning.strategies import first_failure

    def failed(tool: str, error: str) -> dict[str, StepRecord]:
        return {"s1": StepRecord(id="s1", kind="synthesize", tool=tool, depends_on=(), purpose="", input={},
                                 status="error", error=error)}

    told = first_failure(failed("synthesize", "qwen returned text that is not JSON: Invalid control character"))
    assert told is not None and "JSON" not in told and "control character" not in told
    assert told.startswith("the model did not write a usable answer")
    searched = first_failure(failed("search", "knowledge service answered 500: Traceback ..."))
    assert searched is not None and "500" not in searched and searched.startswith("the documents could not")
    assert first_failure(failed("calculator", "division by zero")) == \
        "the calculator step could not be done: division by zero"  # about the question itself: shown
