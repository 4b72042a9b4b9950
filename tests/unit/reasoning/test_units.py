"""A rate stated per month (or week, or quarter), asked for over a year or a quarter, is scaled
by the fixed ratio and the arithmetic shown; anything else is left as read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sutazai.reasoning.steps import StepRecord
from sutazai.reasoning.strategies import Extracted
from sutazai.reasoning.units import scale

INTERNET = ("Each remote worker receives a one-time equipment allowance of 500 EUR and 30 EUR per month towards home "
            "internet.")


@pytest.mark.parametrize(("question", "quote", "value", "expected"), [
    ("How much does a remote worker receive for home internet in a year, in EUR?", INTERNET, "30",
     (Decimal(12), "month", "year")),
    ("What is the annual fee?", "The fee is 120 EUR per quarter.", "120", (Decimal(4), "quarter", "year")),
    ("How many hours are logged per year?", "Each engineer logs 37.5 hours per week.", "37.5",
     (Decimal(52), "week", "year")),
    ("How much is the equipment allowance in a year?", INTERNET, "500", None),  # a one-time sum: no rate
    ("How many days of annual leave do employees get?", "Employees get 28 days per year.", "28", None),
    ("What is the monthly fee?", "The fee is 120 EUR per month.", "120", None),
    ("How much is the hotel limit in a year?", "The hotel limit is 220 EUR per night.", "220", None),  # no fixed ratio
])
def test_a_rate_is_scaled_only_by_a_fixed_ratio(question: str, quote: str, value: str,
                                                expected: tuple[Decimal, str, str] | None) -> None:
    assert scale(question, quote, value) == expected


def test_an_extracted_monthly_rate_asked_per_year_is_multiplied_and_shown() -> None:
    record = StepRecord("s2", "extract", "extract_value", (), "", {}, output={
        "value": "30", "chunk_id": "c1", "document_id": "d1", "quote": INTERNET})
    question = "How much does a remote worker receive for home internet in a year, in EUR?"
    outcome = Extracted(samples=["s2"], question=question).read({"s2": record})
    assert outcome.text is not None and outcome.text.startswith("360. ")
    assert "30 per month \u00d7 12 months a year = 360" in outcome.text and outcome.computed == ["360", "30", "12"]
    plain = Extracted(samples=["s2"], question="How much is the home internet allowance?").read({"s2": record})
    assert plain.text is not None and plain.text.startswith("30. ")
