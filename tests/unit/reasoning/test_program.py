"""Program-aided reasoning: the model's program is checked against the allow-list and run in the
sandbox; every way it can go wrong is a ToolFailed (a recorded error step), never a crash."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from sutazai.lib.limits import Sandbox
from sutazai.lib.models import ChatMessage
from sutazai.reasoning.tools.base import ToolContext, ToolFailed
from sutazai.reasoning.tools.program import Program, ProgramInput, ProgramRefused, check_program, code_in, execute
from tests.unit.fakes import FakeModel


def test_a_program_computes_with_the_allowed_modules() -> None:
    source = ("import math\nfrom fractions import Fraction\nimport datetime\n\n"
              "def solution(a, b):\n    total = 0\n    for i in range(a):\n        total += i\n"
              "    days = (datetime.date(2026, 3, 1) - datetime.date(2026, 2, 1)).days\n"
              "    return total + math.floor(Fraction(b, 2)) + days\n")
    assert execute(source, {"a": 5, "b": 9}) == str(10 + 4 + 28)


@pytest.mark.parametrize(("returned", "shown"), [
    ("0.1 + 0.2", "0.3"), ("36 / 2", "18"), ("Fraction(3, 4)", "0.75"), ("Decimal('2.50') * 2", "5"),
    ("datetime.date(2026, 12, 4)", "2026-12-04"), ("2 ** 70", str(2 ** 70)),
])
def test_results_are_rendered_as_a_person_writes_them(returned: str, shown: str) -> None:
    source = (f"import datetime\nfrom fractions import Fraction\nfrom decimal import Decimal\n"
              f"def solution():\n    return {returned}\n")
    assert execute(source, {}) == shown


@pytest.mark.parametrize(("source", "message"), [
    ("import os\ndef solution():\n    return os.getcwd()", "import of 'os' is not allowed"),
    ("from subprocess import run\ndef solution():\n    return 1", "import of 'subprocess'"),
    ("def solution():\n    return (1).__class__", "underscore"),
    ("def solution():\n    return open('/etc/passwd').read()", "'open' is not allowed"),
    ("def solution():\n    return eval('1+1')", "'eval' is not allowed"),
    ("def solution():\n    print(1)\n    return 1", "'print' is not allowed"),
    ("def solution():\n    return getattr(1, 'real')", "'getattr' is not allowed"),
    ("def solution():\n    return '{0.real}'.format(1)", "'format' is not allowed"),
    ("def solution():\n    g = (x for x in [1])\n    return g.gi_frame", "'gi_frame' is not allowed"),
    ("class A:\n    pass\ndef solution():\n    return 1", "ClassDef is not allowed"),
    ("def solution():\n    with x:\n        return 1", "With is not allowed"),
    ("def solution():\n    try:\n        return 1\n    except Exception:\n        return 2", "Try is not allowed"),
    ("async def solution():\n    return 1", "AsyncFunctionDef is not allowed"),
    ("def solution():\n    global x\n    return 1", "Global is not allowed"),
    ("from math import *\ndef solution():\n    return pi", "import \\*"),
])
def test_anything_outside_the_allow_list_is_refused(source: str, message: str) -> None:
    with pytest.raises(ProgramRefused, match=message):
        check_program(source)


def test_a_module_gives_no_way_to_the_modules_it_imported() -> None:
    with pytest.raises(ToolFailed, match="AttributeError"):  # fractions imports sys; a program cannot reach it
        execute("import fractions\ndef solution():\n    return fractions.sys.modules", {})


@pytest.mark.parametrize(("source", "message"), [
    ("def solution(:\n    return 1", "not valid Python"),
    ("def answer():\n    return 1", "defines no function solution"),
    ("def solution():\n    return 1 / 0", "ZeroDivisionError"),
    ("def solution():\n    return [1][3]", "IndexError"),
    ("def solution():\n    return None", "returned None"),
    ("def solution():\n    return float('inf')", "not a finite number"),
    ("def solution():\n    return [1, 2]", "returned a list"),
    ("def solution(a):\n    return a", "could not be called"),
])
def test_a_program_that_fails_says_why(source: str, message: str) -> None:
    with pytest.raises(ToolFailed, match=message):
        execute(source, {})


def writer(code: str) -> FakeModel:
    """A fake model that answers every request with this code, in a fenced block."""

    def reply(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        del messages, schema
        return f"Here is the program:\n```python\n{code}\n```"

    return FakeModel(reply)


def ctx() -> ToolContext:
    return ToolContext(collection=None, credential=None, today=dt.date(2026, 12, 4), max_tokens=1000)


async def test_the_tool_runs_the_models_program_with_named_inputs_in_the_sandbox() -> None:
    sandbox = Sandbox(memory_bytes=512 * 1024**2, preload=("sutazai.reasoning.tools.program",))
    model = writer("def solution(a, b):\n    return a - b")
    try:
        out = await Program(lambda _kind: model, sandbox).run(
            ProgramInput(question="How much more revenue did X have than Y?", inputs={"a": "1,240.5", "b": 385},
                         described={"a": "revenue of X", "b": "revenue of Y"}), ctx())
    finally:
        await sandbox.close()
    assert out.model_dump() == {"program": "def solution(a, b):\n    return a - b",
                                "inputs": {"a": 1240.5, "b": 385}, "result": "855.5"}
    prompt = model.chats[0][-1].content
    assert "a = 1,240.5 (revenue of X)" in prompt and "Question: How much more revenue" in prompt


@pytest.mark.parametrize(("code", "message"), [
    ("def solution():\n    while True:\n        pass", "stopped: it took longer than 1 s"),
    ("def solution():\n    return len([0] * 10**10)", "stopped|memory"),
    ("import socket\ndef solution():\n    return 1", "import of 'socket' is not allowed"),
])
async def test_a_program_that_loops_hogs_memory_or_imports_is_a_tool_failure(code: str, message: str) -> None:
    sandbox = Sandbox(memory_bytes=256 * 1024**2, preload=("sutazai.reasoning.tools.program",))
    try:
        with pytest.raises(ToolFailed, match=message) as raised:
            await Program(lambda _kind: writer(code), sandbox, seconds=1.0).run(
                ProgramInput(question="How many?"), ctx())
        assert code.splitlines()[0] in str(raised.value)  # the program is kept with the error, for the trace
        # the sandbox serves the next program after a killed one
        ok = await Program(lambda _kind: writer("def solution():\n    return 6 * 7"), sandbox).run(
            ProgramInput(question="What is six times seven?"), ctx())
        assert ok.result == "42"  # type: ignore[attr-defined]
    finally:
        await sandbox.close()


async def test_an_input_with_no_value_is_refused_before_the_model_is_asked() -> None:
    model = writer("def solution(a):\n    return a")
    with pytest.raises(ToolFailed, match="no value was read for a"):
        await Program(lambda _kind: model).run(ProgramInput(question="How many?", inputs={"a": None}), ctx())
    assert model.chats == []


def test_code_is_read_from_a_fenced_block_or_the_whole_reply() -> None:
    assert code_in("text\n```python\ndef solution():\n    return 1\n```\nmore") == "def solution():\n    return 1"
    assert code_in("def solution():\n    return 2") == "def solution():\n    return 2"
    assert code_in("```python\nprint(12 * 7)\n```") == "def solution():\n    return 12 * 7"  # what was meant
    assert code_in("(16 - 3 - 4) * 2") == "def solution():\n    return (16 - 3 - 4) * 2"
    assert code_in("import os\nprint(os.getcwd())").startswith("import os")  # checked (and refused) as written
