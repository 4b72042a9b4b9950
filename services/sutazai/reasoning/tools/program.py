"""Program-aided reasoning: for a question whose answer is computed, the model writes a short
Python function `solution(...)` and the function is run, instead of the model doing the
arithmetic in words. Values read from documents enter as the function's named arguments.

The program never runs as the model wrote it unchecked. `check_program` parses it with `ast`
and allows only an explicit set of node types: arithmetic, comparisons, loops, functions,
literals and comprehensions; `import` of `math`, `fractions`, `decimal` and `datetime` only;
no name or attribute that starts with an underscore (no dunders), and none of the builtins that
reach outside (open, eval, exec, getattr, input, ...). The checked code then runs with a
builtins table of pure functions only, in the sandbox's worker process, which is stopped at a
time limit and capped in memory. Whatever goes wrong (a syntax error, a refused construct, an
exception, a loop that does not end) becomes a ToolFailed that the executor records as an error
step."""

from __future__ import annotations

import ast
import asyncio
import builtins
import datetime
import decimal
import fractions
import math
import re
import types
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from sutazai.lib.limits import LimitExceeded, Sandbox
from sutazai.lib.models import ChatMessage
from sutazai.reasoning.tools.base import ToolContext, ToolFailed, expect

MAX_PROGRAM_CHARS = 4000
MAX_RESULT_CHARS = 200
ENTRY = "solution"


def _public(module: types.ModuleType) -> types.SimpleNamespace:
    """What a program sees of a module: its public functions, classes and constants, never another
    module it imported (fractions.sys would reach sys.modules)."""
    return types.SimpleNamespace(**{name: value for name, value in vars(module).items()
                                    if not name.startswith("_") and not isinstance(value, types.ModuleType)})


MODULES: dict[str, Any] = {m.__name__: _public(m) for m in (math, fractions, decimal, datetime)}
"""The only modules a program may import, as namespaces of their public names."""

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Return, ast.Assign, ast.AugAssign, ast.AnnAssign,
    ast.For, ast.While, ast.If, ast.Break, ast.Continue, ast.Pass, ast.Expr, ast.Assert,
    ast.Import, ast.ImportFrom, ast.alias,
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.keyword, ast.Attribute,
    ast.Name, ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Subscript, ast.Slice, ast.Starred,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.Lambda,
    ast.JoinedStr, ast.FormattedValue,
    ast.Load, ast.Store, ast.Del,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)
_SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in ("abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int", "len",
                 "list", "map", "max", "min", "pow", "range", "reversed", "round", "set", "sorted", "str", "sum",
                 "tuple", "zip", "ValueError", "ZeroDivisionError", "True", "False", "None")
}
_FORBIDDEN_NAMES = frozenset({
    "open", "eval", "exec", "compile", "input", "globals", "locals", "vars", "getattr", "setattr", "delattr",
    "hasattr", "dir", "type", "object", "super", "memoryview", "bytearray", "breakpoint", "exit", "quit", "help",
    "print", "classmethod", "staticmethod", "property", "id", "hash", "iter", "next", "format",
})
_FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro"})
_FRAME_PREFIXES = ("gi_", "f_", "co_", "cr_", "tb_", "ag_")
_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)(?:```|$)", re.S)


class ProgramRefused(ToolFailed):
    """The program uses something outside the allow-list; the message names it."""


def _refuse_node(node: ast.AST) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        raise ProgramRefused(f"line {getattr(node, 'lineno', '?')}: {type(node).__name__} is not allowed in a "
                             "program (arithmetic, comparisons, loops and functions only)")
    if isinstance(node, ast.Import | ast.ImportFrom):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [str(a.name) for a in node.names]
        for name in names:
            if name not in MODULES:
                raise ProgramRefused(f"line {node.lineno}: import of {name!r} is not allowed; only "
                                     f"{', '.join(sorted(MODULES))}")
    if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
        raise ProgramRefused(f"line {node.lineno}: 'from {node.module} import *' is not allowed; name what you use")
    named = _name_of(node)
    if named is not None and named.startswith("_"):
        raise ProgramRefused(f"line {getattr(node, 'lineno', '?')}: the name {named!r} starts with an underscore; "
                             "private and special names are not allowed")
    if isinstance(node, ast.Attribute) and (node.attr in _FORBIDDEN_ATTRIBUTES
                                            or node.attr.startswith(_FRAME_PREFIXES)):
        raise ProgramRefused(f"line {node.lineno}: the attribute {node.attr!r} is not allowed in a program")
    if isinstance(node, ast.Name) and node.id in _FORBIDDEN_NAMES:
        raise ProgramRefused(f"line {node.lineno}: {node.id!r} is not allowed in a program (no I/O, no "
                             "introspection)")


def _name_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.FunctionDef | ast.arg):
        return node.name if isinstance(node, ast.FunctionDef) else node.arg
    if isinstance(node, ast.alias):
        return node.asname or node.name
    if isinstance(node, ast.keyword):
        return node.arg
    return None


def code_in(text: str) -> str:
    """The Python code of a model's reply: the first fenced block, else the whole reply. A reply
    that is one expression (or prints one) instead of a function is taken as the function that
    returns it: that is what the model meant."""
    fenced = _FENCE.search(text)
    code = (fenced.group(1) if fenced else text).strip()
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
        value = tree.body[0].value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print" \
                and len(value.args) == 1 and not value.keywords:
            value = value.args[0]
        return f"def {ENTRY}():\n    return {ast.unparse(value)}"
    return code


def check_program(source: str) -> ast.Module:
    """The parsed program, or ProgramRefused/ToolFailed saying what is wrong with it."""
    if len(source) > MAX_PROGRAM_CHARS:
        raise ProgramRefused(f"the program is {len(source)} characters; at most {MAX_PROGRAM_CHARS}")
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as exc:
        raise ToolFailed(f"the program is not valid Python: {exc.msg} (line {exc.lineno})") from exc
    for node in ast.walk(tree):
        _refuse_node(node)
    if not any(isinstance(n, ast.FunctionDef) and n.name == ENTRY for n in tree.body):
        raise ToolFailed(f"the program defines no function {ENTRY}()")
    return tree


def _rendered(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise ToolFailed(f"{ENTRY}() returned {value!r}, not a value that answers the question")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ToolFailed(f"{ENTRY}() returned {value}, not a finite number")
        value = round(value, 9)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, fractions.Fraction):
        return str(value.numerator) if value.denominator == 1 else _rendered(float(value))
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f") if value.is_finite() else _rendered(float(value))
    if isinstance(value, int | str | datetime.date | datetime.timedelta):
        text = str(value)
        if len(text) > MAX_RESULT_CHARS:
            raise ToolFailed(f"{ENTRY}() returned a value {len(text)} characters long; at most {MAX_RESULT_CHARS}")
        return text
    raise ToolFailed(f"{ENTRY}() returned a {type(value).__name__}; return a number, a date or a short text")


def execute(source: str, inputs: dict[str, Any]) -> str:
    """Check and run the program; return its result as text. Runs in the sandbox's worker."""
    tree = check_program(source)
    scope: dict[str, Any] = {"__builtins__": {**_SAFE_BUILTINS, "__import__": _importer}}
    try:
        exec(compile(tree, "<program>", "exec"), scope)  # noqa: S102 - checked against the allow-list above
        function: Callable[..., Any] = scope[ENTRY]
        return _rendered(function(**inputs))
    except ToolFailed:
        raise
    except TypeError as exc:
        raise ToolFailed(f"{ENTRY}() could not be called with the inputs {sorted(inputs)}: {exc}") from exc
    except (ArithmeticError, ValueError, IndexError, KeyError, NameError, AssertionError, RecursionError,
            AttributeError) as exc:
        raise ToolFailed(f"the program failed: {type(exc).__name__}: {exc}") from exc


def _importer(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),  # noqa: A002, ARG001
              level: int = 0) -> Any:
    if level or name not in MODULES:
        raise ImportError(f"import of {name!r} is not allowed")
    return MODULES[name]


PROGRAM_SYSTEM = (
    "You solve questions by writing Python. Write a function solution() that computes the answer and "
    "returns it as a number. Use plain arithmetic; you may import math, fractions, decimal or datetime. "
    "Do not print, read files or use other modules. Reply with the code only, in one ```python block."
)
PROGRAM_SHOTS = (
    ("Olivia has $23. She bought five bagels for $3 each. How much money does she have left?",
     "def solution():\n    money_initial = 23\n    bagels = 5\n    bagel_cost = 3\n"
     "    money_spent = bagels * bagel_cost\n    return money_initial - money_spent"),
    ("Inputs (read from the documents): a = 1200 (staff of Acme), b = 450 (staff of Beta).\n"
     "Question: How many more staff does Acme have than Beta?",
     "def solution(a, b):\n    return a - b"),
)


class ProgramInput(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    inputs: dict[str, float | int | str | None] = Field(
        default_factory=dict, max_length=10, description="named values the program receives as arguments")
    described: dict[str, str] = Field(default_factory=dict, max_length=10,
                                      description="what each input is, and where it was read")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    seed: int | None = None


class ProgramOutput(BaseModel):
    program: str = Field(description="the Python the model wrote, as it was run")
    inputs: dict[str, float | int | str] = Field(description="the arguments it was called with")
    result: str = Field(description="what solution() returned")


class Program:
    """The model writes a function; the sandbox runs it (program-aided reasoning)."""

    name: ClassVar[str] = "program"
    kind: ClassVar[str] = "compute"
    description: ClassVar[str] = ("the model writes a short Python function for a computed answer; it runs in a "
                                  "sandbox (allow-listed syntax, math/fractions/decimal/datetime only, time and "
                                  "memory limits)")
    input_model: ClassVar[type[BaseModel]] = ProgramInput
    output_model: ClassVar[type[BaseModel]] = ProgramOutput

    def __init__(self, route: Callable[[str], Any], sandbox: Sandbox | None = None, *, seconds: float = 3.0) -> None:
        self._route, self._sandbox, self._seconds = route, sandbox, seconds

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        data = expect(data, ProgramInput)
        missing = sorted(k for k, v in data.inputs.items() if v is None or v == "")
        if missing:
            raise ToolFailed(f"no value was read for {', '.join(missing)}")
        inputs = {k: _number(v) for k, v in data.inputs.items() if v is not None}
        source = await self._write(data, ctx)
        try:
            if self._sandbox is None:
                result = await asyncio.to_thread(execute, source, inputs)
            else:
                result = await self._sandbox.run(execute, source, inputs, seconds=self._seconds)
        except LimitExceeded as exc:
            raise ToolFailed(f"the program was stopped: {exc}\n{source[:1000]}") from exc
        except ToolFailed as exc:
            raise ToolFailed(f"{exc}\n{source[:1000]}") from exc
        except RuntimeError as exc:
            raise ToolFailed(f"the program failed: {exc}\n{source[:1000]}") from exc
        return ProgramOutput(program=source, inputs=inputs, result=result)

    async def _write(self, data: ProgramInput, ctx: ToolContext) -> str:
        messages = [ChatMessage("system", PROGRAM_SYSTEM)]
        # worked examples recalled for close questions come last, nearest the question
        recalled = () if data.inputs else tuple((q, _as_program(work)) for q, work in ctx.memory.shots)
        for question, code in (*PROGRAM_SHOTS, *recalled):
            messages += [ChatMessage("user", question), ChatMessage("assistant", f"```python\n{code}\n```")]
        question = data.question
        if data.inputs:
            listed = ", ".join(f"{k} = {data.inputs[k]} ({data.described.get(k, k)})" for k in data.inputs)
            question = f"Inputs (read from the documents): {listed}.\nQuestion: {question}"
        messages.append(ChatMessage("user", question))
        model = self._route(self.kind if self.kind in ("extract", "synthesize") else "extract")
        result = await model.chat(messages, temperature=data.temperature, seed=data.seed,
                                  max_tokens=min(400, ctx.max_tokens))
        ctx.usage.add(result)
        return code_in(result.text)


def _as_program(work: str) -> str:
    """A recalled worked example as a program: a program already, or an expression it returns."""
    return work if f"def {ENTRY}" in work else f"def {ENTRY}():\n    return {work}"


def _number(value: float | int | str) -> float | int | str:
    """An input as the program gets it: numbers written as text ('1,200', '41.0') become numbers."""
    if isinstance(value, str):
        plain = value.replace(",", "").strip()
        try:
            return int(plain)
        except ValueError:
            try:
                return float(plain)
            except ValueError:
                return value
    return value
