"""Calibration: the measures (ECE, Brier, reliability bins, risk-coverage, the threshold for a
target risk) on hand-checked cases, and fitting on synthetic outcomes whose true probability is
known: the fitted calibrator must be close to calibrated on cases it never saw, better than
the miscalibrated prior, and applied from its stored numbers exactly as scikit-learn would."""

from __future__ import annotations

import random

import numpy as np
import pytest

from sutazai.lib.confidence import AnswerFeatures, prior
from sutazai.lib.errors import ValidationFailed
from sutazai.metacognition.calibration import PRIOR, Calibrator, NotEnoughLabels, by_group, fit, vector
from sutazai.metacognition.reliability import brier, ece, reliability, risk_coverage, threshold_for_risk


def test_brier_and_ece_on_hand_checked_cases() -> None:
    assert brier([1.0, 0.0], [1, 0]) == 0.0
    assert brier([0.5, 0.5], [1, 0]) == 0.25
    # bin 0.8-0.9 holds two cases at 0.8, one right: |0.8 - 0.5| weighted 2/4; bin 0.2 holds two, both wrong
    assert ece([0.8, 0.8, 0.2, 0.2], [1, 0, 0, 0]) == pytest.approx((2 * 0.3 + 2 * 0.2) / 4)
    assert ece([], []) == 0.0


def test_reliability_bins_carry_counts_and_intervals() -> None:
    rows = reliability([0.05, 0.95, 0.95, 1.0], [0, 1, 0, 1])
    assert [(r["lower"], r["count"]) for r in rows] == [(0.0, 1), (0.9, 3)]  # 1.0 falls in the top bin
    top = rows[1]
    assert top["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert top["accuracy_ci"][0] < top["accuracy"] < top["accuracy_ci"][1]


def test_risk_coverage_and_the_threshold_for_a_target_risk() -> None:
    probs = [0.9, 0.8, 0.7, 0.6, 0.5]
    labels = [1, 1, 0, 1, 0]
    curve = risk_coverage(probs, labels)
    assert [(p["threshold"], p["coverage"], p["risk"]) for p in curve] == [
        (0.9, 0.2, 0.0), (0.8, 0.4, 0.0), (0.7, 0.6, 0.3333), (0.6, 0.8, 0.25), (0.5, 1.0, 0.4)]
    chosen = threshold_for_risk(probs, labels, target=0.25)
    assert chosen is not None and chosen["threshold"] == 0.6 and chosen["coverage"] == 0.8
    assert chosen["risk_ci"][0] <= 0.25 <= chosen["risk_ci"][1]
    assert threshold_for_risk([0.9], [0], target=0.1) is None  # no threshold reaches it


def test_ties_share_one_point_on_the_curve() -> None:
    curve = risk_coverage([0.5, 0.5, 0.5], [1, 0, 1])
    assert len(curve) == 1 and curve[0]["coverage"] == 1.0


def test_features_refuse_values_out_of_range_with_what_to_fix() -> None:
    with pytest.raises(ValidationFailed, match="agreement must be between 0 and 1"):
        AnswerFeatures(agreement=1.5, supported_fraction=None)
    with pytest.raises(ValidationFailed, match="answer_kind must be one of number, date, name, reason, text"):
        AnswerFeatures(agreement=1.0, supported_fraction=0.5, answer_kind="poem")


def test_the_prior_is_the_documented_formula() -> None:
    assert prior(AnswerFeatures(agreement=0.6, supported_fraction=0.5)) == pytest.approx(0.3)
    assert PRIOR.probability(AnswerFeatures(agreement=0.4, supported_fraction=None)) == pytest.approx(0.4)
    # nothing checked and nothing computed: the model's word alone is capped below the default threshold
    assert PRIOR.probability(AnswerFeatures(agreement=1.0, supported_fraction=None)) == pytest.approx(0.45)
    computed = AnswerFeatures(agreement=1.0, supported_fraction=None, computed=True)
    assert PRIOR.probability(computed) == pytest.approx(1.0)


def synthetic(n: int, seed: int) -> list[tuple[AnswerFeatures, bool]]:
    """Answers whose chance of being right is known: the prior is overconfident for text answers
    with one sample (agreement 1 but right 40% of the time) and underconfident for computed ones."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        computed = rng.random() < 0.4
        samples = rng.choice([1, 3])
        agreement = 1.0 if samples == 1 else rng.choice([1 / 3, 2 / 3, 1.0])
        supported = None if computed else rng.choice([0.0, 0.5, 1.0])
        truth = 0.85 if computed else 0.15 + 0.25 * agreement + 0.3 * (supported or 0.0)
        f = AnswerFeatures(agreement=agreement, supported_fraction=supported, computed=computed, samples=samples,
                     answer_kind="number" if computed else "text", retrieval_scores=(rng.random(),))
        out.append((f, rng.random() < truth))
    return out


def test_a_fitted_calibrator_is_calibrated_on_cases_it_never_saw() -> None:
    fitted = fit(synthetic(1500, seed=1), seed=0)
    calibrator = Calibrator(version=1, method=fitted.method, params=fitted.params)
    fresh = synthetic(3000, seed=2)
    probs = [calibrator.probability(f) for f, _ in fresh]
    labels = [int(y) for _, y in fresh]
    prior_probs = [prior(f) for f, _ in fresh]
    assert ece(probs, labels) <= 0.05
    assert brier(probs, labels) < brier(prior_probs, labels)
    assert fitted.metrics["held_out"] == 1500 == len(fitted.held_out)  # every label, predicted out of fold
    assert fitted.metrics["held_out_metrics"]["ece"] <= 0.06
    assert fitted.metrics["held_out_metrics"]["brier"] < fitted.metrics["prior_held_out_metrics"]["brier"]
    floor = fitted.metrics["ece_if_perfectly_calibrated"]
    assert 0 < floor["mean"] < floor["p95"] < 0.05  # 1500 cases: chance alone stays under the target
    assert fitted.metrics["labels_to_verify_target"] <= 1600


def test_out_of_fold_probabilities_come_from_calibrators_that_never_saw_the_label() -> None:
    from sutazai.metacognition.calibration import _choose, _fitted, _folds

    data = synthetic(300, seed=6)
    fitted = fit(data, seed=0)
    xs = np.asarray([vector(f) for f, _ in data])
    scores = np.asarray([prior(f) for f, _ in data])
    ys = np.asarray([int(y) for _, y in data])
    folds = list(_folds(ys, 0).split(xs, ys))
    assert len(folds) == 5 and sorted(np.concatenate([test for _, test in folds]).tolist()) == list(range(300))
    for train, test in folds:
        assert not set(train) & set(test)
        method, _ = _choose(xs[train], scores[train], ys[train], 0)
        alone = _fitted(method, xs[train], scores[train], ys[train])  # what this fold's calibrator knew
        assert [fitted.held_out[i][0] for i in test] == [alone.probability(data[i][0]) for i in test]
    in_use = Calibrator(version=1, method=fitted.method, params=fitted.params)
    assert [in_use.probability(f) for f, _ in data] != [p for p, _ in fitted.held_out]  # in use: fitted on all


def test_the_chance_floor_of_ece_shrinks_with_more_cases_and_says_how_many_are_needed() -> None:
    from sutazai.metacognition.calibration import ece_floor, labels_to_verify

    probabilities = [0.2, 0.5, 0.8, 0.95] * 10
    small, large = ece_floor(probabilities, cases=32), ece_floor(probabilities, cases=2000)
    assert small["mean"] > 0.1 > 0.03 > large["mean"]  # 32 cases: a perfect model measures about 0.1 or more
    needed = labels_to_verify(probabilities, target=0.05)
    assert needed is not None and 200 <= needed <= 3200
    assert ece_floor(probabilities, cases=needed, simulations=400)["p95"] <= 0.05


def test_stored_logistic_numbers_reproduce_scikit_learn() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = synthetic(400, seed=3)
    xs, ys = np.asarray([vector(f) for f, _ in data]), np.asarray([int(y) for _, y in data])
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)).fit(xs, ys)
    scaler, regression = model.steps[0][1], model.steps[1][1]
    calibrator = Calibrator(version=1, method="logistic", params={
        "mean": scaler.mean_.tolist(), "scale": [s if s > 0 else 1.0 for s in scaler.scale_.tolist()],
        "coef": regression.coef_[0].tolist(), "intercept": float(regression.intercept_[0])})
    expected = model.predict_proba(xs)[:, 1]
    got = [calibrator.probability(f) for f, _ in data]
    assert np.allclose(got, expected, atol=5e-4)  # probabilities are given to 3 places


def test_an_isotonic_calibrator_is_monotone_in_the_prior() -> None:
    calibrator = Calibrator(version=2, method="isotonic", params={"x": [0.0, 0.5, 1.0], "y": [0.1, 0.3, 0.7]})
    low = AnswerFeatures(agreement=0.2, supported_fraction=None)
    high = AnswerFeatures(agreement=0.9, supported_fraction=None)
    assert calibrator.probability(low) <= calibrator.probability(high)
    assert calibrator.probability(AnswerFeatures(agreement=0.75, supported_fraction=1.0)) == pytest.approx(0.5)


def test_too_few_labels_or_one_kind_keep_the_prior_and_say_what_to_do() -> None:
    few = synthetic(20, seed=4)
    with pytest.raises(NotEnoughLabels, match="needs at least 40"):
        fit(few)
    all_right = [(f, True) for f, _ in synthetic(100, seed=5)]
    with pytest.raises(NotEnoughLabels, match="at least 2 of each"):
        fit(all_right)


def test_a_threshold_wins_only_when_its_interval_excludes_zero() -> None:
    from sutazai.metacognition.reliability import compare_thresholds

    rng = random.Random(9)
    pairs = [(p, rng.random() < p) for p in (rng.random() for _ in range(600))]
    safer = compare_thresholds(pairs, current=0.3, proposed=0.92, target=0.1)
    assert safer["current"]["risk"] > 0.1 and safer["proposed"]["risk"] <= 0.1
    assert safer["risk_difference_ci"][1] < 0 and safer["wins"]
    same = compare_thresholds(pairs, current=0.85, proposed=0.86, target=0.1)
    assert not same["wins"]  # a sliver more or less: the interval straddles zero
    bolder = compare_thresholds(pairs, current=0.95, proposed=0.85, target=0.2)
    assert bolder["coverage_difference_ci"][0] > 0 and bolder["wins"]


def test_the_held_out_measurement_by_group_carries_each_groups_chance_floor() -> None:
    rng = random.Random(3)
    held = [(0.9, rng.random() < 0.9) for _ in range(400)] + [(0.2, rng.random() < 0.6) for _ in range(60)]
    groups = ["big"] * 400 + ["small"] * 60
    out = by_group(held, groups)
    assert set(out) == {"big", "small"} and out["big"]["cases"] == 400 and out["small"]["cases"] == 60
    big, small = out["big"], out["small"]
    assert big["ece"] == ece([p for p, _ in held[:400]], [int(y) for _, y in held[:400]])
    assert small["ece"] > 0.25  # stated 0.2, right about 60% of the time: miscalibrated, far above its floor
    assert small["ece"] > small["ece_if_perfectly_calibrated"]["p95"]
    assert big["ece_if_perfectly_calibrated"]["mean"] < small["ece_if_perfectly_calibrated"]["mean"]  # more cases
    with pytest.raises(ValueError):
        by_group(held, groups[:-1])
