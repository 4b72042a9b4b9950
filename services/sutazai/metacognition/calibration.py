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

Its expected calibration error and Brier score are then measured on a held-out quarter of the
labels it never saw, next to the prior's on the same cases. The fitted parameters are stored as
plain numbers (never a pickle) and applied with numpy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sutazai.lib.errors import ValidationFailed
from sutazai.metacognition.reliability import brier, ece

MIN_LABELS = 40
"""Fewer labelled outcomes than this (or only one kind: all right or all wrong) keep the prior."""
HELD_OUT = 0.25
ANSWER_KINDS = ("number", "text")


@dataclass(frozen=True)
class Features:
    """What the reasoning service knows about an answer when it decides it."""

    agreement: float
    """share of the samples that gave the winning answer (0-1)"""
    supported_fraction: float | None
    """share of the answer's claims a source backs; None when nothing could be checked"""
    retrieval_scores: tuple[float, ...] = ()
    """scores of the passages the answer could rest on, best first (any scale the search uses)"""
    answer_kind: str = "text"
    strategy: str = "answer"
    step_kinds: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    samples: int = 1
    computed: bool = False
    """a tool (the calculator) computed the answer"""
    citations: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.agreement <= 1.0:
            problems.append("agreement must be between 0 and 1")
        if self.supported_fraction is not None and not 0.0 <= self.supported_fraction <= 1.0:
            problems.append("supported_fraction must be between 0 and 1, or null when nothing could be checked")
        if self.answer_kind not in ANSWER_KINDS:
            problems.append(f"answer_kind must be one of {', '.join(ANSWER_KINDS)}")
        if self.samples < 1:
            problems.append("samples must be at least 1")
        if any(not math.isfinite(s) for s in self.retrieval_scores):
            problems.append("retrieval_scores must be finite numbers")
        if problems:
            raise ValidationFailed("; ".join(problems))

    @classmethod
    def of(cls, data: dict[str, Any]) -> Features:
        """From stored JSON (an assessment's features)."""
        return cls(agreement=float(data["agreement"]), supported_fraction=data.get("supported_fraction"),
                   retrieval_scores=tuple(data.get("retrieval_scores") or ()),
                   answer_kind=data.get("answer_kind", "text"), strategy=data.get("strategy", "answer"),
                   step_kinds=tuple(data.get("step_kinds") or ()), models=tuple(data.get("models") or ()),
                   samples=int(data.get("samples", 1)), computed=bool(data.get("computed", False)),
                   citations=int(data.get("citations", 0)))


VECTOR = ("agreement", "supported", "unchecked", "retrieval_top", "retrieved", "computed", "number", "cited",
          "single_sample", "remembered")


def vector(f: Features) -> list[float]:
    """The numbers a logistic calibrator weighs, in the order of VECTOR."""
    return [f.agreement, f.supported_fraction or 0.0, float(f.supported_fraction is None),
            max(f.retrieval_scores, default=0.0), float(bool(f.retrieval_scores)), float(f.computed),
            float(f.answer_kind == "number"), min(f.citations, 5) / 5, float(f.samples == 1),
            float(f.strategy == "remembered")]


UNGROUNDED_CAP = 0.45
"""The prior's ceiling for an answer nothing backs (no source checked, nothing computed)."""


def prior(f: Features) -> float:
    """The documented prior: agreement times the supported share; when nothing was checked, the
    agreement alone for a computed answer, else at most UNGROUNDED_CAP (the model's word alone)."""
    if f.supported_fraction is None:
        return min(f.agreement, 1.0 if f.computed else UNGROUNDED_CAP)
    return f.agreement * f.supported_fraction


@dataclass(frozen=True)
class Calibrator:
    """A fitted (or the prior) mapping from features to a probability of being right."""

    version: int
    method: str  # "prior" | "logistic" | "isotonic"
    params: dict[str, Any] = field(default_factory=dict)

    def probability(self, f: Features) -> float:
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


def fit(labelled: Sequence[tuple[Features, bool]], *, seed: int = 0, min_labels: int = MIN_LABELS) -> Fitted:
    """Fit both calibrators on three quarters of the labels, keep the one with the lower
    cross-validated Brier score, and measure it (and the prior) on the held-out quarter."""
    from sklearn.isotonic import IsotonicRegression  # noqa: PLC0415 - loaded only when fitting
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    right = sum(1 for _, ok in labelled if ok)
    if len(labelled) < min_labels or right < 2 or len(labelled) - right < 2:
        raise NotEnoughLabels(
            f"{len(labelled)} labelled outcomes ({right} right, {len(labelled) - right} wrong): a calibrator needs at "
            f"least {min_labels}, with at least 2 of each; run an evaluation suite (sutazai eval run) or collect "
            "more feedback; until then the prior is used")
    xs = np.asarray([vector(f) for f, _ in labelled])
    scores = np.asarray([prior(f) for f, _ in labelled])
    ys = np.asarray([int(ok) for _, ok in labelled])
    index = np.arange(len(labelled))
    fit_i, test_i = train_test_split(index, test_size=HELD_OUT, random_state=seed, stratify=ys)
    folds = StratifiedKFold(n_splits=max(2, min(5, int(min(ys[fit_i].sum(), (1 - ys[fit_i]).sum())))),
                            shuffle=True, random_state=seed)

    def logistic() -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))

    def isotonic() -> Any:
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")

    cv = {
        "logistic": brier(cross_val_predict(logistic(), xs[fit_i], ys[fit_i], cv=folds,
                                            method="predict_proba")[:, 1].tolist(), ys[fit_i].tolist()),
        "isotonic": brier(cross_val_predict(isotonic(), scores[fit_i], ys[fit_i], cv=folds).tolist(),
                          ys[fit_i].tolist()),
    }
    method = min(cv, key=lambda m: cv[m])
    if method == "logistic":
        model = logistic().fit(xs[fit_i], ys[fit_i])
        scaler, regression = model.steps[0][1], model.steps[1][1]
        params: dict[str, Any] = {"features": list(VECTOR), "mean": scaler.mean_.tolist(),
                                  "scale": [s if s > 0 else 1.0 for s in scaler.scale_.tolist()],
                                  "coef": regression.coef_[0].tolist(), "intercept": float(regression.intercept_[0])}
    else:
        model = isotonic().fit(scores[fit_i], ys[fit_i])
        params = {"x": model.X_thresholds_.tolist(), "y": model.y_thresholds_.tolist()}
    chosen = Calibrator(version=0, method=method, params=params)
    held = [(chosen.probability(labelled[i][0]), bool(ys[i])) for i in test_i]
    baseline = [(_clip(float(scores[i])), bool(ys[i])) for i in test_i]

    def measured(pairs: list[tuple[float, bool]]) -> dict[str, float]:
        probs, labels = [p for p, _ in pairs], [int(y) for _, y in pairs]
        return {"ece": ece(probs, labels), "brier": brier(probs, labels)}

    metrics = {"labels": len(labelled), "right": right, "fitted_on": len(fit_i), "held_out": len(test_i),
               "cross_validated_brier": cv, "chosen": method, "held_out_metrics": measured(held),
               "prior_held_out_metrics": measured(baseline), "seed": seed}
    return Fitted(method=method, params=params, metrics=metrics, held_out=held)
