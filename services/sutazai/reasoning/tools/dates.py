"""Calendar arithmetic with dateutil: add or subtract spans, the span between two dates, the
weekday of a date. 'today' is the trace's reference date, so a replay computes the same."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, Field

from sutazai.reasoning.tools.base import ToolContext, ToolFailed, expect

MAX_SPAN_YEARS = 10_000


class Span(BaseModel):
    years: int = Field(default=0, ge=-MAX_SPAN_YEARS, le=MAX_SPAN_YEARS)
    months: int = Field(default=0, ge=-12 * MAX_SPAN_YEARS, le=12 * MAX_SPAN_YEARS)
    weeks: int = Field(default=0, ge=-53 * MAX_SPAN_YEARS, le=53 * MAX_SPAN_YEARS)
    days: int = Field(default=0, ge=-366 * MAX_SPAN_YEARS, le=366 * MAX_SPAN_YEARS)


class DateInput(BaseModel):
    operation: Literal["add", "subtract", "between", "weekday"]
    date: str = Field(min_length=1, max_length=64, description="a date such as 2024-03-01, "
                      "'March 1, 2024' or 'today'")
    other: str | None = Field(default=None, max_length=64, description="the second date (between)")
    span: Span = Field(default_factory=Span, description="what to add or subtract")


class DateOutput(BaseModel):
    result: str = Field(description="the answer in words")
    date: str | None = Field(default=None, description="ISO date, for add / subtract / weekday")
    days: int | None = Field(default=None, description="signed days from date to other (between)")
    years: int | None = None
    months: int | None = None
    weekday: str | None = None


def read_date(text: str, today: dt.date) -> dt.date:
    """A date from ISO or common English forms; 'today', 'yesterday', 'tomorrow' are relative
    to the reference date."""
    word = text.strip().lower()
    relative = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if word in relative:
        return today + dt.timedelta(days=relative[word])
    try:
        return date_parser.parse(text, default=dt.datetime(today.year, 1, 1)).date()
    except (ValueError, OverflowError) as exc:
        raise ToolFailed(f"cannot read {text!r} as a date; use YYYY-MM-DD") from exc


def compute(data: DateInput, today: dt.date) -> DateOutput:
    start = read_date(data.date, today)
    if data.operation == "weekday":
        name = start.strftime("%A")
        return DateOutput(result=f"{start.isoformat()} is a {name}", date=start.isoformat(), weekday=name)
    if data.operation == "between":
        if not data.other:
            raise ToolFailed("'between' needs a second date in 'other'")
        end = read_date(data.other, today)
        delta = relativedelta(end, start)
        days = (end - start).days
        return DateOutput(result=f"{abs(days)} days ({abs(delta.years)} years, {abs(delta.months)} months, "
                                 f"{abs(delta.days)} days) from {start.isoformat()} to {end.isoformat()}",
                          days=days, years=delta.years, months=delta.years * 12 + delta.months)
    sign = 1 if data.operation == "add" else -1
    span = data.span
    try:
        moved = start + sign * relativedelta(years=span.years, months=span.months, weeks=span.weeks, days=span.days)
    except (ValueError, OverflowError) as exc:
        raise ToolFailed(f"the resulting date is out of range: {exc}") from exc
    return DateOutput(result=moved.isoformat(), date=moved.isoformat(), weekday=moved.strftime("%A"))


class DateCalculator:
    name: ClassVar[str] = "dates"
    kind: ClassVar[str] = "compute"
    description: ClassVar[str] = "date arithmetic: add/subtract spans, days between dates, weekday"
    input_model: ClassVar[type[BaseModel]] = DateInput
    output_model: ClassVar[type[BaseModel]] = DateOutput

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        data = expect(data, DateInput)
        return compute(data, ctx.today)
