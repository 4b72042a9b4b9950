"""What every tool is: a name, a step kind, JSON-schema'd input and output (pydantic models),
and an async `run`. A tool that fails raises ToolFailed; the executor records it as an error
step instead of crashing the request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from sutazai.lib.models import ChatResult

M = TypeVar("M", bound=BaseModel)


class ToolFailed(Exception):
    """The tool ran and could not produce a result; the message says why."""


@dataclass
class Usage:
    """Tokens and the model a tool spent, reported back to the executor."""

    model: str | None = None
    digest: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, result: ChatResult) -> None:
        self.model, self.digest = result.model, result.digest
        self.prompt_tokens += result.prompt_tokens
        self.completion_tokens += result.completion_tokens


@dataclass(frozen=True)
class Remembered:
    """What procedural memory holds for this question (the recall step's result): passages made
    of approved answers to close questions (and the passages those answers named), which
    answer-writing tools put first among their sources; shots of question and answer for tools
    that write arithmetic; and chunk ids marked wrong for close questions, which searches demote."""

    passages: tuple[Any, ...] = ()
    shots: tuple[tuple[str, str], ...] = ()
    demoted: frozenset[str] = frozenset()


@dataclass
class ToolContext:
    """Per-request facts a tool may use: the caller's credential for other services, the
    collection (and whether the caller named it, so that it must exist), the trace's reference
    date (so replays see the same 'today'), a token allowance for model calls, and what memory
    recalled for the question; and, for the step that writes the answer while someone listens, where
    to send the answer's text as it is written."""

    collection: str | None
    credential: str | None
    today: dt.date
    named: bool = False
    max_tokens: int = 256
    usage: Usage = field(default_factory=Usage)
    memory: Remembered = field(default_factory=Remembered)
    draft: Callable[[str], Awaitable[None]] | None = None
    """where the answer-writing step sends its answer's text as the model writes it (set only for
    the step whose answer a listener is waiting for; others write their answer whole)"""


STEP_KINDS = ("plan", "retrieve", "extract", "compute", "synthesize", "verify")
MODEL_KINDS = ("extract", "synthesize")
"""The kinds of step whose tools call a language model: they spend tokens, and each kind can be
routed to a model of its own."""


class Tool(Protocol):
    """A tool's class declares its name and its kind (one of STEP_KINDS): nothing else does."""

    name: ClassVar[str]
    kind: ClassVar[str]
    description: ClassVar[str]
    input_model: ClassVar[type[BaseModel]]
    output_model: ClassVar[type[BaseModel]]

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel: ...


def validate_input(tool: Tool, raw: dict[str, Any]) -> BaseModel:
    """The tool's input model built from `raw`, or ToolFailed saying which field is wrong."""
    try:
        return tool.input_model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        raise ToolFailed(f"invalid input for {tool.name}: {where}: {first['msg']}") from exc


def validate_output(tool: Tool, value: BaseModel) -> tuple[BaseModel, dict[str, Any]]:
    """The output checked against the tool's output schema, as that model and as JSON-ready data."""
    try:
        checked = tool.output_model.model_validate(value.model_dump())
    except ValidationError as exc:
        raise ToolFailed(f"{tool.name} produced output that breaks its schema: {exc.errors()[0]['msg']}") from exc
    return checked, checked.model_dump(mode="json")


def expect(data: Any, model: type[M]) -> M:
    """`data` as the tool's input model (the executor validated it already)."""
    if not isinstance(data, model):
        raise TypeError(f"expected {model.__name__}, got {type(data).__name__}")
    return data
