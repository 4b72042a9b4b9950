"""Deterministic scoring of answers against a case, and the statistics of runs: code, never a
model judging itself.

- A numeric case is right when the answer's number (the last number of its first sentence, or of
  the whole answer when the first sentence has none; thousands separators, currency and percent
  signs ignored) is within the tolerance of the expected one.
- A text case is right when, after normalisation (case, accents, punctuation, the articles
  a/an/the, spacing), the answer's first sentence equals one of the accepted answers or contains
  it as whole words ("any of").
- A bare model's chain of thought is scored on what follows its last "the answer is" (else its
  last number, or its last sentence).
- An abstention is never right, and counts as not answered, except on a case tagged
  `unanswerable` (the documents do not hold its answer): there an abstention, or an answer saying
  the documents do not state it, is the right answer, and any other answer is wrong.
"""

from __future__ import annotations

import math
import random
import re
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sutazai.learning.suites import Case
from sutazai.lib.stats import percentile, wilson

_NUMBER = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?|[-−]?\.\d+")
_FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_MARKERS = re.compile(r"\s*\[(?:\d{1,3}(?:\s*,\s*\d{1,3})*|unsupported)\]")
"""The pipeline's citation markers ("[1]", "[1, 2]") and "[unsupported]": never part of an answer."""
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s]")


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(_ARTICLES.sub(" ", _PUNCT.sub(" ", plain)).split())


def first_sentence(text: str) -> str:
    return _FIRST_SENTENCE.split(text.strip(), maxsplit=1)[0]


def number_in(text: str) -> Decimal | None:
    """The answer's number: the last one of its first sentence (else of the whole text)."""
    for part in (first_sentence(text), text):
        found = _NUMBER.findall(part)
        if found:
            raw = found[-1].replace(",", "").replace("−", "-")
            try:
                return Decimal(raw)
            except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
                return None
    return None


_FINAL = re.compile(r"answer is[:\s]*(.+?)(?:\.(?:\s|$)|\n|$)", re.IGNORECASE)


def final_answer(text: str) -> str:
    """What a chain of thought concludes: after its last "the answer is", else its last sentence."""
    found = _FINAL.findall(text)
    if found:
        return str(found[-1]).strip()
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    return sentences[-1] if sentences else ""


_NOT_STATED = re.compile(r"\b(?:documents?|sources?|passages?) (?:do|does) not (?:state|say|mention|contain)|"
                         r"\bnot stated in the (?:documents?|sources?)", re.I)


def is_right(case: Case, answer: str, *, abstained: bool = False, bare: bool = False) -> bool:
    answer = _MARKERS.sub("", answer)
    if "unanswerable" in case.tags:
        return abstained or bool(_NOT_STATED.search(answer))
    if abstained or not answer.strip():
        return False
    if bare:
        concluded = final_answer(answer)
        if case.numeric is not None and number_in(concluded) is None:
            found = _NUMBER.findall(answer)
            concluded = found[-1] if found else ""
        answer = concluded
    if case.numeric is not None:
        got = number_in(answer)
        return got is not None and abs(got - case.numeric) <= case.tolerance
    said = normalise(first_sentence(answer))
    padded = f" {said} "
    for accepted in case.answers:
        wanted = normalise(accepted)
        if wanted and (said == wanted or f" {wanted} " in padded):
            return True
    return False


# -- statistics ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """One case's result in a run."""

    case_id: str
    correct: bool
    abstained: bool
    latency_s: float | None = None


def summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Accuracy (all cases), coverage (answered), accuracy when answered, each with its 95%
    interval; latency p50/p95."""
    n = len(outcomes)
    answered = [o for o in outcomes if not o.abstained]
    right = sum(o.correct for o in outcomes)
    latencies = [o.latency_s for o in outcomes if o.latency_s is not None]
    return {
        "cases": n, "answered": len(answered), "correct": right,
        "accuracy": right / n if n else None, "accuracy_ci": wilson(right, n),
        "coverage": len(answered) / n if n else None, "coverage_ci": wilson(len(answered), n),
        "accuracy_answered": right / len(answered) if answered else None,
        "accuracy_answered_ci": wilson(right, len(answered)),
        "latency_p50_s": percentile(latencies, 50), "latency_p95_s": percentile(latencies, 95),
        "latency_mean_s": statistics.fmean(latencies) if latencies else None,
    }


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar test: the probability of a split of the discordant pairs at least
    this uneven if both configurations were equally good."""
    k, n = min(only_a, only_b), only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / math.pow(2, n)
    return min(1.0, 2 * tail)


def compare(a: Sequence[Outcome], b: Sequence[Outcome], *, resamples: int = 10_000,
            seed: int = 20261123) -> dict[str, Any]:
    """B against A, case by case on the cases both ran: the accuracy difference (B - A) with a
    95% paired bootstrap interval (fixed seed: the same runs give the same figures) and the exact
    McNemar p-value."""
    left = {o.case_id: o.correct for o in a}
    right = {o.case_id: o.correct for o in b}
    shared = sorted(set(left) & set(right))
    pairs = [(left[c], right[c]) for c in shared]
    n = len(pairs)
    only_a = sum(x and not y for x, y in pairs)
    only_b = sum(y and not x for x, y in pairs)
    diffs = [int(y) - int(x) for x, y in pairs]
    difference = sum(diffs) / n if n else None
    low = high = None
    if n:
        rng = random.Random(seed)  # noqa: S311 - a reproducible resampling, not secrecy
        means = sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(resamples))
        low, high = means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]
    return {"cases": n, "both_right": sum(x and y for x, y in pairs), "only_a": only_a, "only_b": only_b,
            "neither": sum(not x and not y for x, y in pairs), "difference": difference,
            "difference_ci": (low, high), "mcnemar_p": mcnemar_p(only_a, only_b),
            "changed": [c for c, (x, y) in zip(shared, pairs, strict=True) if x != y]}
