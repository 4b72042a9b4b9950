"""Self-consistency: answers from several samples are normalized, grouped and voted on; the
share of samples behind the winner is the agreement rate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sutazai.reasoning.tools.modeltools import numbers_in

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s.-]")
SIMILAR = 0.75


def normalize_number(text: str) -> str | None:
    """A canonical decimal for a number written as text ('1,200.50' -> '1200.5')."""
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def normalize(answer: str, *, numeric: bool) -> str:
    """The voting key of an answer: its final number for numeric questions, else its words
    lower-cased without punctuation or articles."""
    if numeric:
        found = numbers_in(answer)
        if found:
            return normalize_number(found[-1]) or found[-1]
    text = _PUNCT.sub(" ", answer.lower())
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.replace(" .", " ").split()).strip(" .")


def _similar(a: str, b: str) -> bool:
    if a == b:
        return True
    left, right = set(a.split()), set(b.split())
    if not left or not right:
        return False
    return len(left & right) / len(left | right) >= SIMILAR


@dataclass(frozen=True)
class Vote:
    winner: str | None = None
    """The first sample's answer text in the winning group."""
    key: str | None = None
    votes: int = 0
    samples: int = 0
    groups: int = 0

    @property
    def agreement(self) -> float:
        return self.votes / self.samples if self.samples else 0.0


def vote(answers: list[str | None], *, numeric: bool) -> Vote:
    """Group the answers (None = a sample that failed) and pick the largest group; ties go to
    the group whose first member came first."""
    groups: list[tuple[str, list[str]]] = []
    for answer in answers:
        if answer is None or not answer.strip():
            continue
        key = normalize(answer, numeric=numeric)
        for group_key, members in groups:
            if (group_key == key) if numeric else _similar(group_key, key):
                members.append(answer)
                break
        else:
            groups.append((key, [answer]))
    if not groups:
        return Vote(samples=len(answers))
    key, members = max(groups, key=lambda g: len(g[1]))
    return Vote(winner=members[0], key=key, votes=len(members), samples=len(answers), groups=len(groups))
