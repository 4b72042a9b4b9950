"""What running a step produces: its record (stored in the trace, streamed to clients) with the
tool's validated output as a pydantic model, and the budget a request's steps share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Budget:
    max_steps: int
    max_tokens: int
    max_seconds: float


@dataclass
class Spend:
    steps: int = 0
    tokens: int = 0
    exhausted: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "tokens": self.tokens, "exhausted": self.exhausted,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


@dataclass
class StepRecord:
    id: str
    kind: str
    tool: str
    depends_on: tuple[str, ...]
    purpose: str
    input: dict[str, Any]
    status: str = "ok"  # ok | error | skipped
    output: dict[str, Any] | None = None
    error: str | None = None
    model: str | None = None
    model_digest: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    result: BaseModel | None = field(default=None, repr=False, compare=False)
    """The tool's output as its output model (`output` is the same as JSON-ready data)."""

    def to_event(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "tool": self.tool, "depends_on": list(self.depends_on),
                "purpose": self.purpose, "input": self.input, "status": self.status, "output": self.output,
                "error": self.error, "model": self.model, "model_digest": self.model_digest,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "latency_ms": self.latency_ms,
                "started_at": self.started_at.isoformat()}


def result_of(record: StepRecord | None, model: type[M]) -> M | None:
    """The step's output as `model`, or None when the step did not succeed."""
    if record is None or record.status != "ok" or record.output is None:
        return None
    if isinstance(record.result, model):
        return record.result
    return model.model_validate(record.output)
