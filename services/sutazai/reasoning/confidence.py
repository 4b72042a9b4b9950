"""Where an answer's confidence is computed: a pure function of the answer's features, so that
it can be tested alone and replaced by a calibrated model (the metacognition service's job)
without touching the pipeline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerFeatures:
    """What is known about an answer when it is decided."""

    agreement: float
    """Share of self-consistency samples that gave the winning answer (0-1)."""
    supported_fraction: float | None
    """Share of the answer's claims a source backs; None when nothing could be checked."""
    computed: bool = False
    """A tool (the calculator, the calendar) computed the answer."""


UNGROUNDED_CAP = 0.45
"""The most an answer with no source checked and no tool computation may be given: below the
default abstention threshold (0.5), so the model's word alone is not an answer unless an admin
lowers the threshold or a calibrator fitted on outcomes says otherwise."""


def confidence(features: AnswerFeatures) -> float:
    """0-1: the samples' agreement times the share of supported claims, rounded to 3 places; an
    answer nothing backs (no source checked, nothing computed) is capped at UNGROUNDED_CAP."""
    if features.supported_fraction is None:
        cap = 1.0 if features.computed else UNGROUNDED_CAP
        return round(min(features.agreement, cap), 3)
    return round(features.agreement * features.supported_fraction, 3)
