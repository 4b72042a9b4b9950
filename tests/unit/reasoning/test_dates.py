"""Date arithmetic relative to a fixed reference date, so replays compute the same."""

from __future__ import annotations

import datetime as dt

import pytest

from sutazai.reasoning.tools.base import ToolFailed
from sutazai.reasoning.tools.dates import DateInput, compute

TODAY = dt.date(2026, 11, 21)


def run(**fields: object) -> dict[str, object]:
    return compute(DateInput.model_validate(fields), TODAY).model_dump()


def test_add_and_subtract_calendar_spans() -> None:
    assert run(operation="add", date="2024-01-31", span={"months": 1})["date"] == "2024-02-29"
    assert run(operation="subtract", date="March 1, 2025", span={"days": 1})["date"] == "2025-02-28"
    assert run(operation="add", date="today", span={"weeks": 2})["date"] == "2026-12-05"


def test_between_two_dates() -> None:
    out = run(operation="between", date="2020-02-29", other="2026-11-21")
    assert out["days"] == 2457 and out["years"] == 6
    assert run(operation="between", date="tomorrow", other="yesterday")["days"] == -2


def test_weekday() -> None:
    assert run(operation="weekday", date="1969-07-20")["weekday"] == "Sunday"


@pytest.mark.parametrize(("fields", "message"), [
    ({"operation": "weekday", "date": "the day after the war"}, "cannot read"),
    ({"operation": "between", "date": "2020-01-01"}, "needs a second date"),
    ({"operation": "add", "date": "9999-12-31", "span": {"years": 1}}, "out of range"),
])
def test_bad_dates_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ToolFailed, match=message):
        run(**fields)
