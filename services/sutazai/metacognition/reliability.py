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


def _at(pairs: Sequence[tuple[float, bool]], threshold: float) -> tuple[float, float]:
    """(coverage, risk) when answering only from `threshold` up (risk 0 when nothing is answered)."""
    answered = [y for p, y in pairs if p >= threshold]
    coverage = len(answered) / len(pairs) if pairs else 0.0
    risk = (len(answered) - sum(answered)) / len(answered) if answered else 0.0
    return coverage, risk


def compare_thresholds(pairs: Sequence[tuple[float, bool]], *, current: float, proposed: float, target: float,
                       resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Two abstention thresholds on the same held-out cases: coverage and risk at each, and paired
    bootstrap 95% intervals of the differences (proposed - current). It wins when it brings the
    risk down to the target where the current one misses it (the risk difference's interval below
    zero), or, both within the target, answers more (the coverage difference's interval above zero)."""
    import random  # noqa: PLC0415

    rng = random.Random(seed)  # noqa: S311 - resampling, not secrecy
    (c0, r0), (c1, r1) = _at(pairs, current), _at(pairs, proposed)
    d_cov, d_risk = [], []
    for _ in range(resamples):
        sample = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        (a0, b0), (a1, b1) = _at(sample, current), _at(sample, proposed)
        d_cov.append(a1 - a0)
        d_risk.append(b1 - b0)
    d_cov.sort()
    d_risk.sort()

    def ci(values: list[float]) -> tuple[float, float]:
        return (round(values[int(0.025 * len(values))], 4), round(values[int(0.975 * len(values)) - 1], 4))

    cov_ci, risk_ci = ci(d_cov), ci(d_risk)
    if r0 > target:
        wins, why = risk_ci[1] < 0 and r1 <= target, "brings the risk down to the target"
    else:
        wins, why = cov_ci[0] > 0 and r1 <= target, "answers more while staying within the target risk"
    return {"cases": len(pairs), "target": target,
            "current": {"threshold": current, "coverage": round(c0, 4), "risk": round(r0, 4)},
            "proposed": {"threshold": proposed, "coverage": round(c1, 4), "risk": round(r1, 4)},
            "coverage_difference": round(c1 - c0, 4), "coverage_difference_ci": cov_ci,
            "risk_difference": round(r1 - r0, 4), "risk_difference_ci": risk_ci,
            "wins": wins, "criterion": why}
