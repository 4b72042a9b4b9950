"""Monitor rules on hand-built windows: drift (PSI with the KS test beside it), abstention,
negative feedback, latency per step kind, tool errors and empty retrieval; a rule without
enough observations does not fire."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sutazai.metacognition.monitors import Thresholds, evaluate, psi
from sutazai.metacognition.store.monitors import ObservationRow

T = Thresholds(window=50, reference=200, min_observations=20)


def obs(confidence: float, *, abstained: bool = False, steps: list[dict[str, Any]] | None = None,
        empty: bool = False) -> ObservationRow:
    return ObservationRow(confidence=confidence, abstained=abstained, empty_retrieval=empty,
                          steps=steps if steps is not None else [{"tool": "synthesize", "status": "ok",
                                                                  "latency_ms": 900.0}])


def by_rule(readings: list[Any]) -> dict[str, Any]:
    return {r.rule: r for r in readings}


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = random.Random(0)
    same = [rng.uniform(0.6, 1.0) for _ in range(400)]
    assert psi(same[:200], same[200:]) < 0.1
    assert psi(same[:200], [rng.uniform(0.0, 0.4) for _ in range(200)]) > 1.0


def test_a_worse_model_routed_in_is_seen_as_drift_and_abstention() -> None:
    rng = random.Random(1)
    reference = [obs(rng.uniform(0.7, 1.0)) for _ in range(200)]
    worse = [obs(rng.uniform(0.1, 0.6), abstained=rng.random() < 0.7) for _ in range(50)]
    readings = by_rule(evaluate(worse + reference, [], T))  # newest first
    drift = readings["confidence_drift"]
    assert drift.firing and drift.value > 1.0 and drift.detail["ks_p_value"] < 1e-6
    assert drift.detail["recent_mean"] < drift.detail["reference_mean"]
    assert readings["abstention_rate"].firing
    steady = by_rule(evaluate(reference[:50] + reference[50:], [], T))
    assert steady["confidence_drift"].firing is False and steady["abstention_rate"].firing is False


def test_rules_without_enough_observations_do_not_fire() -> None:
    readings = by_rule(evaluate([obs(0.1, abstained=True)] * 5, [-1] * 3, T))
    assert readings["abstention_rate"].value is None and readings["abstention_rate"].firing is None
    assert readings["confidence_drift"].firing is None and readings["negative_feedback_rate"].firing is None


def test_feedback_latency_errors_and_empty_retrieval() -> None:
    slow = [{"tool": "search", "status": "ok", "latency_ms": 200.0},
            {"tool": "synthesize", "status": "error", "latency_ms": 150_000.0}]
    window = [obs(0.9, steps=slow, empty=True) for _ in range(30)]
    readings = by_rule(evaluate(window, [-1] * 8 + [1] * 4, T))
    assert readings["negative_feedback_rate"].value == pytest.approx(8 / 12, abs=1e-4)
    assert readings["negative_feedback_rate"].firing
    assert readings["latency_p95_s:synthesize"].firing and readings["latency_p95_s:search"].firing is False
    assert readings["tool_error_rate"].value == 0.5 and readings["tool_error_rate"].firing
    assert readings["empty_retrieval_rate"].value == 1.0 and readings["empty_retrieval_rate"].firing
