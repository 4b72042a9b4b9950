"""Whether a passage is about what a question names. A value or a claim is read from a passage only
when the passage names everything the question singles out: its names ("Hamburg office", "Quay
Wall Renewal"), its codes ("C-110"), its years ("in 2024") and the measure it asks for ("net
profit", "operating margin"). A passage about the Oslo office does not answer a question about
the Hamburg office, however close its words; reading a number from it would be confidently wrong."""

from __future__ import annotations

import re

_NAME = re.compile(r"\b[A-Z][\w'\u2019-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z0-9][\w'\u2019-]*)*")
_CODE = re.compile(r"\b(?!Q[1-4]\b)[A-Z]{1,4}-?\d{1,6}\b")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_LEADING = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was",
                      "were", "does", "did", "do", "can", "could", "in", "the", "a", "an", "if", "of", "on", "for",
                      "tell", "give", "list", "name", "please", "explain", "describe", "at", "by", "to", "i"})
_UNITS = frozenset({"EUR", "USD", "GBP", "NOK", "SEK", "DKK", "CHF", "CEO", "CFO", "CTO", "IT", "HR"})
_MEASURES = ("profit", "margin", "revenue", "budget", "cost", "price", "salary", "turnover", "income", "loss",
             "headcount", "population", "debt", "dividend", "ebit", "area", "deadline",
             # roles: who the question asks about by office, which a passage must name to answer it
             "executive", "ceo", "cfo", "founder", "director", "chair", "president", "owner", "manager")


def names_in(question: str) -> list[str]:
    """The capitalised names of a question, without a leading question word or a possessive."""
    found: list[str] = []
    for match in _NAME.finditer(question):
        words = match.group(0).split()
        while words and (words[0].lower() in _LEADING or re.fullmatch(r"Q[1-4]|\d+", words[0])):
            words = words[1:]
        while words and (_YEAR.fullmatch(words[-1]) or re.fullmatch(r"Q[1-4]|\d+", words[-1])):
            words = words[:-1]
        name = re.sub(r"['\u2019]s?$", "", " ".join(words)).strip()
        if name and name not in _UNITS and not _CODE.fullmatch(name) and not _YEAR.fullmatch(name) \
                and name not in found:
            found.append(name)
    return found


def required_terms(question: str) -> list[str]:
    """What a passage must name to be about the question: names, codes, years, measures."""
    measures = [m for m in _MEASURES if re.search(rf"\b{m}", question, re.I)]
    return [*names_in(question), *_CODE.findall(question), *_YEAR.findall(question), *measures]


def grounded(question: str, text: str, *, measures: bool = True) -> bool:
    """Whether `text` names every term the question singles out (case-insensitive, whole words;
    a measure by its stem: 'budget' matches 'budgets'). A question naming several things (a
    comparison of two companies) needs only one of its names in each passage. Without
    `measures`, only names, codes and years count (a table row names its subject, while the
    measure is its column's)."""
    lowered = text.lower()

    def named(term: str) -> bool:
        pattern = rf"(?<![\w-]){re.escape(term.lower())}" + (r"" if term.lower() in _MEASURES else r"(?![\w-])")
        return re.search(pattern, lowered) is not None

    names = names_in(question)
    if names and not (all(map(named, names)) if len(names) == 1 else any(map(named, names))):
        return False
    others = [*_CODE.findall(question), *_YEAR.findall(question),
              *(m for m in _MEASURES if measures and re.search(rf"\b{m}", question, re.I))]
    return all(map(named, others))
