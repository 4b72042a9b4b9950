"""Routing by evidence: which runs are compared, and when a model is recommended."""

from __future__ import annotations

import uuid
from typing import Any

from sutazai.learning.route_recommendations import recommend

CURRENT = {"plan": "big", "extract": "big", "synthesize": "big", "verify": "big"}


def run(label: str, routes: dict[str, str] | None = None, in_force: dict[str, str] | None = None) -> dict[str, Any]:
    return {"run_id": uuid.uuid4(), "label": label,
            "config": {"mode": "pipeline", "routes": routes, "routes_in_force": in_force or CURRENT}}


def results(right: list[bool], latency: float = 1.0) -> list[dict[str, Any]]:
    return [{"case_id": f"c{n}", "correct": r, "abstained": False, "latency_s": latency} for n, r in enumerate(right)]


def test_a_model_that_wins_with_an_interval_above_zero_is_recommended() -> None:
    base, better, worse = run("now"), run("small synth", {"synthesize": "small"}), run("tiny", {"synthesize": "tiny"})
    found = recommend([better, worse, base], {
        str(base["run_id"]): results([True] * 10 + [False] * 30),
        str(better["run_id"]): results([True] * 30 + [False] * 10),
        str(worse["run_id"]): results([True] * 5 + [False] * 35)}, CURRENT, kinds=["synthesize"],
        latency_budget_s=None, suite="s")
    assert found.routes == {"synthesize": "small"}
    gain = next(e for e in found.evidence if e.model == "small")
    assert gain.comparison is not None and gain.comparison["difference"] == 0.5
    assert gain.comparison["difference_ci"][0] > 0


def test_no_recommendation_without_a_significant_win_or_outside_the_budget() -> None:
    base, alt = run("now"), run("alt", {"synthesize": "small"})
    close = {str(base["run_id"]): results([True, False] * 10), str(alt["run_id"]): results([False, True] * 10)}
    found = recommend([alt, base], close, CURRENT, kinds=["synthesize"], latency_budget_s=None, suite="s")
    assert found.routes == {} and "no model beats big" in found.notes[0]
    slow = {str(base["run_id"]): results([False] * 20), str(alt["run_id"]): results([True] * 20, latency=9.0)}
    found = recommend([alt, base], slow, CURRENT, kinds=["synthesize"], latency_budget_s=5.0, suite="s")
    assert found.routes == {} and "within 5 s" in found.notes[0]
    assert [e.within_budget for e in found.evidence] == [True, False]


def test_only_controlled_comparisons_count() -> None:
    base = run("now")
    # another kind differs too: not evidence about synthesize alone
    confounded = run("two changes", {"synthesize": "small", "extract": "small"})
    # a run from before the routes in force changed: its other routes differ
    stale = run("old", {"synthesize": "small"}, in_force={**CURRENT, "plan": "old"})
    found = recommend([confounded, stale, base], {
        str(base["run_id"]): results([False] * 20), str(confounded["run_id"]): results([True] * 20),
        str(stale["run_id"]): results([True] * 20)}, CURRENT, kinds=["synthesize"], latency_budget_s=None,
        suite="s")
    assert found.routes == {} and [e.model for e in found.evidence] == ["big"]
    assert "only the model in force" in found.notes[0]


def test_without_a_run_of_the_routes_in_force_nothing_is_compared() -> None:
    alt = run("alt", {"synthesize": "small"})
    found = recommend([alt], {str(alt["run_id"]): results([True])}, CURRENT, kinds=["synthesize"],
                      latency_budget_s=None, suite="s")
    assert found.routes == {} and found.evidence == [] and "sutazai eval run s`" in found.notes[0]
