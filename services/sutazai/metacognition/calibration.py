"""Calibrated confidence: from what is known about an answer when it is decided (its features) to
the probability that it is right.

Until enough labelled outcomes exist (evaluation cases scored by code, and feedback), the
probability is the documented prior — the samples' agreement times the share of the answer's
claims a source supports (all, when nothing could be checked) — which is what the reasoning
service used before this service existed. With labels, two calibrators are fitted on the
same split and the one with the lower cross-validated Brier score is kept:

- `logistic`: logistic regression over the standardised feature vector (`VECTOR`), which can
  learn, say, that a computed answer with one sample is more often right than its agreement says;
- `isotonic`: isotonic regression of the prior score, a monotone remapping of the old formula.

Its expected calibration error and Brier score are measured out of fold: the labels are split
into five folds and each fold's probabilities come from a calibrator fitted (method chosen
included) on the other four, so every label is a held-out case and the measurement rests on all
of them, not on a quarter. The prior is measured on the same cases. The calibrator put in use is
then fitted on every label.

ECE measured on few cases is biased upwards: even a perfectly calibrated model shows a sizeable
ECE on 30 cases, from the luck of the draw alone. So the measurement comes with that floor (the
ECE a perfectly calibrated model with the same probabilities would show on this many cases,
simulated) and with how many labels it takes before such a model stays under the target ECE in
95% of measurements. The fitted parameters are stored as plain numbers (never a pickle) and
applied with numpy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sutazai.lib.confidence import AnswerFeatures, prior
from sutazai.lib.errors import ValidationFailed
from sutazai.metacognition.reliability import brier, ece

MIN_LABELS = 40
"""Fewer labelled outcomes than this (or only one kind: all right or all wrong) keep the prior."""
FOLDS = 5
ECE_TARGET = 0.05
"""The expected calibration error the platform aims for on held-out cases."""


VECTOR = ("agreement", "supported", "unchecked", "retrieval_top", "retrieved", "computed", "number", "cited",
          "single_sample", "remembered")


def vector(f: AnswerFeatures) -> list[float]:
    """The numbers a logistic calibrator weighs, in the order of VECTOR."""
    return [f.agreement, f.supported_fraction or 0.0, float(f.supported_fraction is None),
            max(f.retrieval_scores, default=0.0), float(bool(f.retrieval_scores)), float(f.computed),
            float(f.answer_kind == "number"), min(f.citations, 5) / 5, float(f.samples == 1),
            float(f.strategy == "remembered")]


@dataclass(frozen=True)
class Calibrator:
    """A fitted (or the prior) mapping from features to a probability of being right."""

    version: int
    method: str  # "prior" | "logistic" | "isotonic"
    params: dict[str, Any] = field(default_factory=dict)

    def probability(self, f: AnswerFeatures) -> float:
        if self.method == "logistic":
            x = (np.asarray(vector(f)) - np.asarray(self.params["mean"])) / np.asarray(self.params["scale"])
            z = float(x @ np.asarray(self.params["coef"]) + self.params["intercept"])
            return _clip(1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0)
        if self.method == "isotonic":
            return _clip(float(np.interp(prior(f), self.params["x"], self.params["y"])))
        return _clip(prior(f))


PRIOR = Calibrator(version=0, method="prior")


def _clip(p: float) -> float:
    return round(min(1.0, max(0.0, p)), 3)


class NotEnoughLabels(ValidationFailed):
    """Too few labelled outcomes (or only one kind) to fit a calibrator."""


@dataclass(frozen=True)
class Fitted:
    method: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    held_out: list[tuple[float, bool]]
    """(probability, right) of each held-out case, for the reliability diagram"""


def _folds(ys: Any, seed: int) -> Any:
    from sklearn.model_selection import StratifiedKFold  # noqa: PLC0415 - loaded only when fitting

    minority = int(min(ys.sum(), len(ys) - ys.sum()))
    return StratifiedKFold(n_splits=max(2, min(FOLDS, minority)), shuffle=True, random_state=seed)


def _logistic() -> Any:
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def _isotonic() -> Any:
    from sklearn.isotonic import IsotonicRegression  # noqa: PLC0415

    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")


def _choose(xs: Any, scores: Any, ys: Any, seed: int) -> tuple[str, dict[str, float]]:
    """The method with the lower cross-validated Brier score on these labels (isotonic, which needs
    no second class in every fold, when there are too few of one kind to cross-validate)."""
    from sklearn.model_selection import cross_val_predict  # noqa: PLC0415

    if min(ys.sum(), len(ys) - ys.sum()) < 2:
        return "isotonic", {}
    folds = _folds(ys, seed)
    cv = {"logistic": brier(cross_val_predict(_logistic(), xs, ys, cv=folds, method="predict_proba")[:, 1].tolist(),
                            ys.tolist()),
          "isotonic": brier(cross_val_predict(_isotonic(), scores, ys, cv=folds).tolist(), ys.tolist())}
    return min(cv, key=lambda m: cv[m]), cv


def _fitted(method: str, xs: Any, scores: Any, ys: Any) -> Calibrator:
    if method == "logistic":
        model = _logistic().fit(xs, ys)
        scaler, regression = model.steps[0][1], model.steps[1][1]
        return Calibrator(version=0, method="logistic", params={
            "features": list(VECTOR), "mean": scaler.mean_.tolist(),
            "scale": [s if s > 0 else 1.0 for s in scaler.scale_.tolist()],
            "coef": regression.coef_[0].tolist(), "intercept": float(regression.intercept_[0])})
    model = _isotonic().fit(scores, ys)
    return Calibrator(version=0, method="isotonic", params={"x": model.X_thresholds_.tolist(),
                                                            "y": model.y_thresholds_.tolist()})


def ece_floor(probabilities: Sequence[float], *, cases: int | None = None, simulations: int = 1000,
              seed: int = 0) -> dict[str, float]:
    """The ECE a perfectly calibrated model shows from chance alone: outcomes drawn with exactly the
    given probabilities (resampled to `cases` of them when given), measured like the real ones.
    Returns the mean and the 95th percentile over the simulations."""
    rng = np.random.default_rng(seed)
    p = np.asarray(probabilities, dtype=float)
    if cases is not None:
        p = rng.choice(p, size=(simulations, cases), replace=True)
    else:
        p = np.broadcast_to(p, (simulations, len(p)))
    y = rng.random(p.shape) < p
    bins = np.minimum((p * 10).astype(int), 9)
    gap = np.zeros(simulations)
    for b in range(10):
        inside = bins == b
        gap += np.abs(((p - y) * inside).sum(axis=1))
    errors = gap / p.shape[1]
    return {"mean": round(float(errors.mean()), 4), "p95": round(float(np.quantile(errors, 0.95)), 4)}


def labels_to_verify(probabilities: Sequence[float], target: float = ECE_TARGET, seed: int = 0) -> int | None:
    """How many labelled cases (with probabilities like these) it takes before a perfectly
    calibrated model measures at most `target` in 95% of measurements; None beyond 25,600."""
    n = 50
    while n <= 25_600:
        if ece_floor(probabilities, cases=n, simulations=400, seed=seed)["p95"] <= target:
            return n
        n *= 2
    return None


def by_group(held_out: Sequence[tuple[float, bool]], groups: Sequence[str], *, seed: int = 0) -> dict[str, Any]:
    """The held-out measurement broken down by group (a suite, or feedback): per group its cases,
    accuracy, ECE and Brier score of the out-of-fold probabilities, and the ECE a perfectly
    calibrated model shows by chance on that group's size — a small suite's ECE means little
    without it."""
    members: dict[str, list[tuple[float, bool]]] = {}
    for pair, group in zip(held_out, groups, strict=True):
        members.setdefault(group, []).append(pair)
    out = {}
    for group, pairs in sorted(members.items()):
        probs, labels = [p for p, _ in pairs], [int(y) for _, y in pairs]
        out[group] = {"cases": len(pairs), "accuracy": round(sum(labels) / len(labels), 4),
                      "ece": ece(probs, labels), "brier": brier(probs, labels),
                      "ece_if_perfectly_calibrated": ece_floor(probs, seed=seed)}
    return out


def fit(labelled: Sequence[tuple[AnswerFeatures, bool]], *, seed: int = 0, min_labels: int = MIN_LABELS) -> Fitted:
    """Measure the fitting procedure out of fold on every label (each fold predicted by a
    calibrator fitted, method chosen included, on the other folds), then fit the calibrator put
    in use on all the labels."""
    right = sum(1 for _, ok in labelled if ok)
    if len(labelled) < min_labels or right < 2 or len(labelled) - right < 2:
        raise NotEnoughLabels(
            f"{len(labelled)} labelled outcomes ({right} right, {len(labelled) - right} wrong): a calibrator needs at "
            f"least {min_labels}, with at least 2 of each; run an evaluation suite (sutazai eval run) or collect "
            "more feedback; until then the prior is used")
    xs = np.asarray([vector(f) for f, _ in labelled])
    scores = np.asarray([prior(f) for f, _ in labelled])
    ys = np.asarray([int(ok) for _, ok in labelled])
    out_of_fold = np.zeros(len(labelled))
    outer = _folds(ys, seed)
    for train, test in outer.split(xs, ys):
        method, _ = _choose(xs[train], scores[train], ys[train], seed)
        calibrator = _fitted(method, xs[train], scores[train], ys[train])
        out_of_fold[test] = [calibrator.probability(labelled[i][0]) for i in test]
    method, cv = _choose(xs, scores, ys, seed)
    chosen = _fitted(method, xs, scores, ys)
    held = [(float(out_of_fold[i]), bool(ys[i])) for i in range(len(labelled))]
    baseline = [(_clip(float(scores[i])), bool(ys[i])) for i in range(len(labelled))]

    def measured(pairs: list[tuple[float, bool]]) -> dict[str, float]:
        probs, labels = [p for p, _ in pairs], [int(y) for _, y in pairs]
        return {"ece": ece(probs, labels), "brier": brier(probs, labels)}

    probabilities = [p for p, _ in held]
    metrics = {"labels": len(labelled), "right": right, "fitted_on": len(labelled), "held_out": len(held),
               "measured_by": f"{outer.get_n_splits()}-fold cross-fitting: each label's probability comes from a "
                              "calibrator fitted without it",
               "cross_validated_brier": cv, "chosen": method, "held_out_metrics": measured(held),
               "prior_held_out_metrics": measured(baseline), "seed": seed,
               "ece_if_perfectly_calibrated": ece_floor(probabilities, seed=seed),
               "ece_target": ECE_TARGET, "labels_to_verify_target": labels_to_verify(probabilities, seed=seed)}
    return Fitted(method=method, params=chosen.params, metrics=metrics, held_out=held)
