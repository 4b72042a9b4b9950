"""A rate read from a document, asked for over a longer period: 'How much does a remote worker
receive for home internet in a year?' against '30 EUR per month' is 30 x 12, not 30. Only periods
whose ratio is fixed are converted (a year is 12 months, 4 quarters or 52 weeks; a quarter is 3
months); days are not (working days or calendar days is the document's to say)."""

from __future__ import annotations

import re
from decimal import Decimal

_UNITS = {"month": "month", "monthly": "month", "week": "week", "weekly": "week", "quarter": "quarter",
          "quarterly": "quarter", "year": "year", "yearly": "year", "annual": "year", "annually": "year",
          "annum": "year"}
PER = {("month", "year"): 12, ("quarter", "year"): 4, ("week", "year"): 52, ("month", "quarter"): 3}
_ASKED = re.compile(r"\b(?:in|for|over|during)\s+(?:a|one|the|each|every)\s+(year|quarter|month)\b|"
                    r"\b(?:per|a|each|every)\s+(year|quarter|month)\b|\b(annual|annually|yearly|quarterly|monthly)\b",
                    re.I)
_STATED = r"\s*(?:[A-Z]{3}|EUR|USD|GBP|euros?|dollars?|kr|NOK|SEK|%|percent|hours?|days?)?\s*" \
          r"(?:per|a|each|every|/)\s*(month|week|quarter|year|annum)\b|\s*(?:[A-Z]{3}|EUR|euros?)?\s*" \
          r"\b(monthly|weekly|quarterly|yearly|annually)\b"


def asked_period(question: str) -> str | None:
    """The period the question asks a total over ('in a year', 'per year', 'annual'), if any."""
    found = _ASKED.search(question)
    if not found:
        return None
    word = next(g for g in found.groups() if g)
    return _UNITS[word.lower()]


def stated_period(quote: str, value: str) -> str | None:
    """The period the quote states right after the value ('30 EUR per month', '120 EUR monthly')."""
    found = re.search(rf"(?<![\d.,]){re.escape(value)}(?:{_STATED})", quote, re.I)
    if not found:
        return None
    word = next((g for g in found.groups() if g), None)
    return _UNITS.get(word.lower()) if word else None


def scale(question: str, quote: str, value: str) -> tuple[Decimal, str, str] | None:
    """(factor, the stated period, the asked period) when the value is a rate per a shorter period
    than the question asks about; None when they agree or no fixed ratio converts them."""
    asked, stated = asked_period(question), stated_period(quote, value)
    if asked is None or stated is None or asked == stated:
        return None
    factor = PER.get((stated, asked))
    return (Decimal(factor), stated, asked) if factor else None
