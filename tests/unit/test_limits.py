"""The sandbox that bounds CPU-heavy work: results and domain errors come back, an overrun is
stopped (the worker killed, the next task served by a fresh one), a memory hog is stopped by
the memory cap."""

from __future__ import annotations

import pytest

from sutazai.lib.errors import ValidationFailed
from sutazai.lib.limits import LimitExceeded, Sandbox
from sutazai.reasoning.tools.base import ToolContext, ToolFailed
from sutazai.reasoning.tools.calculator import Calculator, CalculatorInput


def square(x: int) -> int:
    return x * x


def refuse(reason: str) -> None:
    raise ValidationFailed(reason)


def spin() -> None:
    while True:
        pass


def hog() -> bytes:
    return b"x" * (1024**3)


async def test_results_errors_and_overruns() -> None:
    sandbox = Sandbox(memory_bytes=512 * 1024**2)
    try:
        assert await sandbox.run(square, 7, seconds=30) == 49
        with pytest.raises(ValidationFailed, match="no such thing"):
            await sandbox.run(refuse, "no such thing", seconds=30)
        with pytest.raises(LimitExceeded, match="longer than 0.5 s"):
            await sandbox.run(spin, seconds=0.5)
        with pytest.raises(LimitExceeded, match="memory"):
            await sandbox.run(hog, seconds=30)
        assert await sandbox.run(square, 8, seconds=30) == 64  # a fresh worker took over
    finally:
        await sandbox.close()


async def test_a_symbolic_power_is_stopped_not_left_to_stall_the_service() -> None:
    sandbox = Sandbox()
    try:
        calculator = Calculator(sandbox, seconds=0.5)
        with pytest.raises(ToolFailed, match="stopped computing"):
            await calculator.run(CalculatorInput(expression="(a+b+c+d+f+g)^14", operation="expand"),
                                 ToolContext.__new__(ToolContext))
        done = await Calculator(sandbox, seconds=30).run(CalculatorInput(expression="2^10 + 1"),
                                                         ToolContext.__new__(ToolContext))
        assert done.model_dump()["value"] == "1025"
    finally:
        await sandbox.close()
