"""The confidence is a pure function of an answer's features (the seam metacognition takes over)."""

from __future__ import annotations

import pytest

from sutazai.reasoning.confidence import AnswerFeatures, confidence


@pytest.mark.parametrize(("agreement", "supported", "expected"), [
    (1.0, 1.0, 1.0),
    (1.0, None, 1.0),  # nothing could be checked: agreement alone
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
