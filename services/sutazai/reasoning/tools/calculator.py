"""Exact arithmetic and algebra with SymPy. Expressions are parsed with Python's `ast` (which
only parses) and translated node by node into SymPy objects from a whitelist; nothing is ever
passed to `eval`, and sizes are bounded so a request cannot make the process compute forever."""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import sympy
from pydantic import BaseModel, Field

from sutazai.lib.limits import LimitExceeded, Sandbox
from sutazai.reasoning.tools.base import ToolContext, ToolFailed, expect

MAX_NODES = 300
MAX_DIGITS = 2000  # an exact result longer than this is refused
MAX_FACTORIAL = 1000

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": sympy.sqrt, "cbrt": sympy.cbrt, "abs": sympy.Abs, "floor": sympy.floor,
    "ceil": sympy.ceiling, "ceiling": sympy.ceiling, "exp": sympy.exp, "log": sympy.log,
    "ln": sympy.log, "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "gcd": sympy.gcd,
    "lcm": sympy.lcm, "min": sympy.Min, "max": sympy.Max, "binomial": sympy.binomial,
    "round": lambda x, n=0: sympy.floor(x * 10**n + sympy.Rational(1, 2)) / 10**n,  # half up, exact
}
_CONSTANTS: dict[str, Any] = {"pi": sympy.pi, "e": sympy.E, "E": sympy.E, "i": sympy.I,
                              "I": sympy.I, "oo": sympy.oo, "inf": sympy.oo}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Mod: lambda a, b: sympy.Mod(a, b),
    ast.FloorDiv: lambda a, b: sympy.floor(a / b),
}
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%(?!\s*[\w(])")
_IMPLICIT = re.compile(r"(\d)\s*([a-zA-Z(])")


class CalculatorInput(BaseModel):
    expression: str = Field(min_length=1, max_length=500,
                            description="arithmetic or algebra, e.g. '(16-3-4)*2', 'x^2 - 4 = 0'")
    operation: Literal["evaluate", "simplify", "solve", "expand", "factor"] = "evaluate"
    variable: str | None = Field(default=None, max_length=20, description="the unknown to solve for")
    variables: dict[str, float | int | str] = Field(
        default_factory=dict, description="values substituted for names before evaluating")


class CalculatorOutput(BaseModel):
    expression: str = Field(description="the expression as understood")
    result: str = Field(description="exact result (fractions stay fractions)")
    value: str | None = Field(description="decimal value when the result is a number")
    solutions: list[str] = Field(default_factory=list)


def _prepare(text: str) -> str:
    text = text.strip().replace("^", "**").replace("×", "*").replace("÷", "/").replace("−", "-")
    text = text.replace("$", "")
    text = _THOUSANDS.sub("", text)
    text = _PERCENT.sub(r"(\1/100)", text)
    return _IMPLICIT.sub(r"\1*\2", text)


class _Translator:
    """Walks a parsed expression and builds the SymPy value of each whitelisted node."""

    def __init__(self, variables: dict[str, Any]) -> None:
        self.variables = variables
        self.nodes = 0

    def build(self, node: ast.AST) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ToolFailed(f"expression is too long (more than {MAX_NODES} parts)")
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ToolFailed(f"unsupported syntax in expression: {type(node).__name__}")
        return method(node)

    def _Expression(self, node: ast.Expression) -> Any:  # noqa: N802
        return self.build(node.body)

    def _Constant(self, node: ast.Constant) -> Any:  # noqa: N802
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ToolFailed(f"only numbers are allowed, not {node.value!r}")
        if isinstance(node.value, float):
            return sympy.Rational(repr(node.value))  # exact decimal: 0.1 is 1/10
        return sympy.Integer(node.value)

    def _Name(self, node: ast.Name) -> Any:  # noqa: N802
        if node.id in self.variables:
            return self.variables[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        return sympy.Symbol(node.id)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:  # noqa: N802
        value = self.build(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        raise ToolFailed(f"unsupported operator {type(node.op).__name__}")

    def _BinOp(self, node: ast.BinOp) -> Any:  # noqa: N802
        left, right = self.build(node.left), self.build(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise ToolFailed(f"unsupported operator {type(node.op).__name__}")
        if isinstance(node.op, ast.Div | ast.Mod | ast.FloorDiv) and right == 0:
            raise ToolFailed("division by zero")
        return operation(left, right)

    def _Call(self, node: ast.Call) -> Any:  # noqa: N802
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise ToolFailed("only plain calls of known functions are allowed")
        name = node.func.id
        if name == "factorial":
            return _factorial([self.build(arg) for arg in node.args])
        function = _FUNCTIONS.get(name)
        if function is None:
            raise ToolFailed(f"unknown function {name!r}; known: factorial, {', '.join(sorted(_FUNCTIONS))}")
        try:
            return function(*[self.build(arg) for arg in node.args])
        except (TypeError, ValueError) as exc:
            raise ToolFailed(f"{name}: {exc}") from exc


def _power(base: Any, exponent: Any) -> Any:
    if exponent.is_number and base.is_number and base != 0:
        magnitude = abs(sympy.N(exponent)) * max(abs(sympy.log(abs(sympy.N(base)), 10)), 1)
        if magnitude > MAX_DIGITS:
            raise ToolFailed(f"the power is too large (over {MAX_DIGITS} digits)")
    return base**exponent


def _factorial(args: list[Any]) -> Any:
    if len(args) != 1:
        raise ToolFailed("factorial takes one argument")
    (n,) = args
    if n.is_number and (not n.is_integer or n < 0 or n > MAX_FACTORIAL):
        raise ToolFailed(f"factorial needs a whole number from 0 to {MAX_FACTORIAL}")
    return sympy.factorial(n)


def parse(text: str, variables: dict[str, Any] | None = None) -> Any:
    """The SymPy value of `text`; an equation 'a = b' becomes Eq(a, b)."""
    prepared = _prepare(text)
    sides = re.split(r"(?<![<>!=])=(?!=)", prepared)
    if len(sides) > 2:
        raise ToolFailed("an equation may have only one '='")
    translator = _Translator({k: _number(v) for k, v in (variables or {}).items()})
    built = []
    for side in sides:
        try:
            tree = ast.parse(side.strip(), mode="eval")
        except SyntaxError as exc:
            raise ToolFailed(f"cannot read {side.strip()!r} as an expression: {exc.msg}") from exc
        built.append(translator.build(tree))
    return sympy.Eq(built[0], built[1]) if len(built) == 2 else built[0]


def _number(value: float | int | str) -> Any:
    if isinstance(value, str):
        return parse(value)
    return sympy.Rational(repr(value)) if isinstance(value, float) else sympy.Integer(value)


def decimal(value: Any) -> str | None:
    """A plain decimal rendering of a numeric SymPy value (integers stay exact)."""
    if not getattr(value, "is_number", False) or value.has(sympy.I) and not value.is_real:
        return None
    if value.is_Integer:
        return str(value)
    text = str(sympy.N(value, 15))
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return text


def calculate(data: CalculatorInput) -> CalculatorOutput:
    """Run one calculator request; raise ToolFailed with a reason on any problem."""
    value = parse(data.expression, data.variables)
    solutions: list[str] = []
    if data.operation == "solve" or isinstance(value, sympy.Equality):
        target = value if isinstance(value, sympy.Equality) else sympy.Eq(value, 0)
        unknowns = sorted(target.free_symbols, key=str)
        if data.variable:
            unknowns = [sympy.Symbol(data.variable)]
        if not unknowns:
            holds = bool(sympy.simplify(target.lhs - target.rhs) == 0)
            return CalculatorOutput(expression=str(target), result=str(holds), value=None)
        found = sympy.solve(target, unknowns[0])
        solutions = [str(s) for s in found]
        result = ", ".join(f"{unknowns[0]} = {s}" for s in solutions) or "no solution"
        single = decimal(found[0]) if len(found) == 1 else None
        return CalculatorOutput(expression=str(target), result=result, value=single, solutions=solutions)
    transform = {"simplify": sympy.simplify, "expand": sympy.expand, "factor": sympy.factor}
    if data.operation in transform:
        value = transform[data.operation](value)
    elif value.free_symbols:
        value = sympy.simplify(value)
    if value.is_number and value.is_Integer and len(str(abs(value))) > MAX_DIGITS:
        raise ToolFailed(f"the result has more than {MAX_DIGITS} digits")
    if value.has(sympy.zoo, sympy.nan):
        raise ToolFailed("the expression has no defined value")
    return CalculatorOutput(expression=data.expression, result=str(value), value=decimal(value))


class Calculator:
    name: ClassVar[str] = "calculator"
    kind: ClassVar[str] = "compute"
    description: ClassVar[str] = "exact arithmetic and algebra (SymPy): evaluate, simplify, solve, expand, factor"
    input_model: ClassVar[type[BaseModel]] = CalculatorInput
    output_model: ClassVar[type[BaseModel]] = CalculatorOutput

    def __init__(self, sandbox: Sandbox | None = None, *, seconds: float = 5.0) -> None:
        """With a sandbox, SymPy runs in its own process and is stopped after `seconds` (a
        symbolic power such as (a+b+c+d+f+g)^14 would otherwise hold the event loop for
        seconds); without one (unit tests), in a thread."""
        self._sandbox, self._seconds = sandbox, seconds

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:  # noqa: ARG002
        data = expect(data, CalculatorInput)
        try:
            if self._sandbox is None:
                return await asyncio.to_thread(calculate, data)
            return await self._sandbox.run(calculate, data, seconds=self._seconds)
        except LimitExceeded as exc:
            raise ToolFailed(f"stopped computing {data.expression!r}: {exc}; simplify the expression") from exc
        except (TypeError, ValueError, NotImplementedError, RecursionError) as exc:
            raise ToolFailed(f"could not compute {data.expression!r}: {exc}") from exc
        except RuntimeError as exc:  # any other failure inside the sandbox, reported by name
            raise ToolFailed(f"could not compute {data.expression!r}: {exc}") from exc


class CompareInput(BaseModel):
    values: dict[str, float | int | str] = Field(min_length=2, max_length=10,
                                                 description="the value of each candidate, by name")
    pick: Literal["max", "min"] = Field(description="whether the largest or the smallest value wins")


class CompareOutput(BaseModel):
    choice: str
    value: str
    ranking: list[str] = Field(description="every candidate, winner first")


class Compare:
    """Which of several named values is largest or smallest, compared exactly."""

    name: ClassVar[str] = "compare"
    kind: ClassVar[str] = "compute"
    description: ClassVar[str] = "pick the candidate with the largest or smallest value"
    input_model: ClassVar[type[BaseModel]] = CompareInput
    output_model: ClassVar[type[BaseModel]] = CompareOutput

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:  # noqa: ARG002
        data = expect(data, CompareInput)
        exact = {name: _number(value) for name, value in data.values.items()}
        if not all(v.is_number and v.is_real for v in exact.values()):
            raise ToolFailed("every value to compare must be a real number")
        order = sorted(exact, key=lambda n: exact[n], reverse=data.pick == "max")
        if exact[order[0]] == exact[order[1]]:
            raise ToolFailed(f"{order[0]} and {order[1]} have the same value, {decimal(exact[order[0]])}")
        return CompareOutput(choice=order[0], value=decimal(exact[order[0]]) or str(exact[order[0]]),
                             ranking=order)
