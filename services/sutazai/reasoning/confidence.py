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


def confidence(features: AnswerFeatures) -> float:
    """0-1: the samples' agreement times the share of supported claims (all, when none could be
    checked), rounded to 3 places. Not yet calibrated against outcomes."""
    supported = 1.0 if features.supported_fraction is None else features.supported_fraction
    return round(features.agreement * supported, 3)
