"""How well probabilities match outcomes: expected calibration error, Brier score, the
reliability diagram's bins, the risk-coverage curve and the abstention threshold that keeps the
risk (the share of wrong answers among those given) at or under a target. Pure functions over
(probability, right) pairs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sutazai.lib.stats import wilson

BINS = 10


def _bin(p: float, bins: int) -> int:
    return min(bins - 1, int(p * bins))


def brier(probabilities: Sequence[float], labels: Sequence[int | bool]) -> float:
    """Mean squared difference between probability and outcome (0 is perfect; 0.25 is a coin)."""
    if not probabilities:
        return 0.0
    return round(sum((p - int(y)) ** 2 for p, y in zip(probabilities, labels, strict=True)) / len(probabilities), 4)


def ece(probabilities: Sequence[float], labels: Sequence[int | bool], bins: int = BINS) -> float:
    """Expected calibration error over equal-width bins: the gap between mean probability and
    accuracy in each bin, weighted by the bin's share of the cases."""
    if not probabilities:
        return 0.0
    grouped: dict[int, list[tuple[float, int]]] = {}
    for p, y in zip(probabilities, labels, strict=True):
        grouped.setdefault(_bin(p, bins), []).append((p, int(y)))
    total = sum(abs(sum(p for p, _ in members) - sum(y for _, y in members)) for members in grouped.values())
    return round(total / len(probabilities), 4)


def reliability(probabilities: Sequence[float], labels: Sequence[int | bool], bins: int = BINS) -> list[dict[str, Any]]:
    """The reliability diagram: per non-empty bin its range, count, mean probability, accuracy
    and the accuracy's 95% interval."""
    grouped: dict[int, list[tuple[float, int]]] = {}
    for p, y in zip(probabilities, labels, strict=True):
        grouped.setdefault(_bin(p, bins), []).append((p, int(y)))
    rows = []
    for b in sorted(grouped):
        members = grouped[b]
        right = sum(y for _, y in members)
        rows.append({"lower": b / bins, "upper": (b + 1) / bins, "count": len(members),
                     "confidence": round(sum(p for p, _ in members) / len(members), 4),
                     "accuracy": round(right / len(members), 4), "accuracy_ci": wilson(right, len(members))})
    return rows


def risk_coverage(probabilities: Sequence[float], labels: Sequence[int | bool]) -> list[dict[str, float]]:
    """Answering only when the probability is at least each threshold: the share answered
    (coverage) and the share of those that are wrong (risk), one point per distinct threshold,
    highest threshold first."""
    pairs = sorted(zip(probabilities, labels, strict=True), key=lambda pair: -pair[0])
    points, wrong = [], 0
    for i, (p, y) in enumerate(pairs):
        wrong += 1 - int(y)
        if i + 1 < len(pairs) and pairs[i + 1][0] == p:
            continue  # the same threshold answers every case with this probability
        answered = i + 1
        points.append({"threshold": round(p, 4), "coverage": round(answered / len(pairs), 4),
                       "risk": round(wrong / answered, 4), "answered": answered, "wrong": wrong})
    return points


def threshold_for_risk(probabilities: Sequence[float], labels: Sequence[int | bool],
                       target: float) -> dict[str, Any] | None:
    """The lowest threshold (so the most answers) whose risk is at most `target`, with the
    risk's 95% interval; None when no threshold reaches the target."""
    best = None
    for point in risk_coverage(probabilities, labels):
        if point["risk"] <= target:
            best = point
    if best is None:
        return None
    return {**best, "target": target, "risk_ci": wilson(int(best["wrong"]), int(best["answered"]))}


def report(pairs: Sequence[tuple[float, bool]], *, target_risk: float = 0.1) -> dict[str, Any]:
    """Everything the calibration page and `sutazai meta calibration` draw, for one set of cases."""
    probs, labels = [p for p, _ in pairs], [int(y) for _, y in pairs]
    right = sum(labels)
    return {"cases": len(pairs), "accuracy": round(right / len(pairs), 4) if pairs else None,
            "accuracy_ci": wilson(right, len(pairs)), "ece": ece(probs, labels), "brier": brier(probs, labels),
            "reliability": reliability(probs, labels), "risk_coverage": risk_coverage(probs, labels),
            "threshold": threshold_for_risk(probs, labels, target_risk)}
