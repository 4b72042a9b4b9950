"""Reciprocal-rank fusion, weighted: the one implementation the knowledge service ranks with and
the metacognition service replays when it tunes the weights (so a tuned setting means the same
thing in both)."""

from __future__ import annotations

from collections.abc import Sequence


def weighted_rrf(rankings: Sequence[Sequence[str]], *, k: int = 60,
                 weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """(id, score) best first: score = sum over lists of weight / (k + rank); ties by id."""
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    scores: dict[str, float] = {}
    for n, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else float(weights[n])
        if weight <= 0.0:
            continue
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
