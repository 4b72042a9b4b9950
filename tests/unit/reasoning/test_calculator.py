"""The calculator: exact results, algebra, and refusal of anything that is not arithmetic."""

from __future__ import annotations

import pytest

from sutazai.reasoning.tools.base import ToolFailed
from sutazai.reasoning.tools.calculator import CalculatorInput, calculate


def calc(expression: str, **fields: object) -> dict[str, object]:
    return calculate(CalculatorInput(expression=expression, **fields)).model_dump()  # type: ignore[arg-type]


@pytest.mark.parametrize(("expression", "result", "value"), [
    ("(16 - 3 - 4) * 2", "18", "18"),
    ("0.1 + 0.2", "3/10", "0.3"),
    ("1/3 + 1/6", "1/2", "0.5"),
    ("15% * 200", "30", "30"),
    ("1,000,000 / 4", "250000", "250000"),
    ("2^10", "1024", "1024"),
    ("3 × 4 ÷ 6", "2", "2"),
    ("sqrt(8)", "2*sqrt(2)", "2.82842712474619"),
    ("factorial(20)", "2432902008176640000", "2432902008176640000"),
    ("round(2.675, 2)", "67/25", "2.68"),
    ("7 % 3", "1", "1"),
    ("$12.50 * 4", "50", "50"),
])
def test_arithmetic_is_exact(expression: str, result: str, value: str) -> None:
    out = calc(expression)
    assert (out["result"], out["value"]) == (result, value)


def test_equations_are_solved() -> None:
    assert calc("2x + 3 = 11")["solutions"] == ["4"]
    assert calc("x^2 - 4 = 0")["result"] == "x = -2, x = 2"
    assert calc("x^2 + 1", operation="solve")["solutions"] == ["-I", "I"]
    assert calc("(x + 1)^2", operation="expand")["result"] == "x**2 + 2*x + 1"
    assert calc("x^2 - 1", operation="factor")["result"] == "(x - 1)*(x + 1)"


def test_named_values_are_substituted() -> None:
    assert calc("a - b", variables={"a": "1240", "b": 385})["value"] == "855"
    assert calc("a * b", variables={"a": 0.5, "b": "1/3"})["result"] == "1/6"


@pytest.mark.parametrize(("expression", "message"), [
    ("__import__('os').system('true')", "unsupported syntax|only plain calls"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("x.__class__", "unsupported syntax"),
    ("[1, 2]", "unsupported syntax"),
    ("'text'", "only numbers are allowed"),
    ("lambda: 1", "unsupported syntax"),
    ("2 ** 10 ** 10", "too large"),
    ("factorial(100000)", "factorial needs a whole number"),
    ("10 / 0", "division by zero"),
    ("1 = 2 = 3", "only one '='"),
    ("3 +", "cannot read"),
    ("+".join(["1"] * 240), "too long"),
])
def test_anything_but_arithmetic_is_refused(expression: str, message: str) -> None:
    with pytest.raises(ToolFailed, match=message):
        calc(expression)


async def test_compare_picks_exactly_and_refuses_ties() -> None:
    import datetime as dt

    from sutazai.reasoning.tools.base import ToolContext
    from sutazai.reasoning.tools.calculator import Compare, CompareInput

    ctx = ToolContext(collection=None, credential=None, today=dt.date(2026, 1, 1))
    out = await Compare().run(CompareInput(values={"A": "0.1", "B": "1/9"}, pick="max"), ctx)
    assert out.model_dump() == {"choice": "B", "value": "0.111111111111111", "ranking": ["B", "A"]}
    with pytest.raises(ToolFailed, match="same value"):
        await Compare().run(CompareInput(values={"A": "2", "B": "4/2"}, pick="min"), ctx)
