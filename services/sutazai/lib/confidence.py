"""One shape for what is known about an answer when it is decided (`AnswerFeatures`) and one
documented prior over it, shared by the reasoning service (which builds the features and falls
back to the prior when the metacognition service cannot be asked) and the metacognition service
(which validates them, fits calibrators on them and uses the prior until one is fitted)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from sutazai.lib.errors import ValidationFailed

AnswerKind = Literal["number", "date", "name", "reason", "text"]
ANSWER_KINDS: tuple[str, ...] = get_args(AnswerKind)
Grounding = Literal["documents", "computed", "model", "none"]
"""Where an answer comes from: cited passages, a tool's computation from the question's own
values, the model's general knowledge (the documents do not cover the question), or nowhere
(an abstention)."""

UNGROUNDED_CAP = 0.45
"""The prior's ceiling for an answer to a question about the documents that nothing backs (no
source checked, nothing computed): below the default threshold (0.5)."""
GENERAL_CAP = 0.6
"""The prior's ceiling for a general question the documents do not cover, answered from the
model and labelled so: above the default threshold when the model is consistent, never high."""


@dataclass(frozen=True)
class AnswerFeatures:
    """What the reasoning service knows about an answer when it decides it."""

    agreement: float
    """share of the samples that gave the winning answer (0-1)"""
    supported_fraction: float | None
    """share of the answer's claims a source backs; None when nothing could be checked"""
    retrieval_scores: tuple[float, ...] = ()
    """scores of the passages the answer could rest on, best first (any scale the search uses)"""
    answer_kind: str = "text"
    strategy: str = "answer"
    step_kinds: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    samples: int = 1
    computed: bool = False
    """a tool (calculator, program, calendar, table) computed or read the answer"""
    citations: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.agreement <= 1.0:
            problems.append("agreement must be between 0 and 1")
        if self.supported_fraction is not None and not 0.0 <= self.supported_fraction <= 1.0:
            problems.append("supported_fraction must be between 0 and 1, or null when nothing could be checked")
        if self.answer_kind not in ANSWER_KINDS:
            problems.append(f"answer_kind must be one of {', '.join(ANSWER_KINDS)}")
        if self.samples < 1:
            problems.append("samples must be at least 1")
        if any(not math.isfinite(s) for s in self.retrieval_scores):
            problems.append("retrieval_scores must be finite numbers")
        if problems:
            raise ValidationFailed("; ".join(problems))

    @classmethod
    def of(cls, data: dict[str, Any]) -> AnswerFeatures:
        """From stored JSON (an assessment's features)."""
        return cls(agreement=float(data["agreement"]), supported_fraction=data.get("supported_fraction"),
                   retrieval_scores=tuple(data.get("retrieval_scores") or ()),
                   answer_kind=data.get("answer_kind", "text"), strategy=data.get("strategy", "answer"),
                   step_kinds=tuple(data.get("step_kinds") or ()), models=tuple(data.get("models") or ()),
                   samples=int(data.get("samples", 1)), computed=bool(data.get("computed", False)),
                   citations=int(data.get("citations", 0)))

    def to_dict(self) -> dict[str, Any]:
        """As JSON (what is sent to the metacognition service and stored with the trace)."""
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def prior(f: AnswerFeatures) -> float:
    """The documented prior: the samples' agreement times the share of supported claims. When
    nothing could be checked: the agreement alone for a computed answer; at most GENERAL_CAP for a
    general question answered from the model; else at most UNGROUNDED_CAP (the model's word alone)."""
    if f.supported_fraction is None:
        if f.computed:
            return round(f.agreement, 3)
        return round(min(f.agreement, GENERAL_CAP if f.strategy == "general" else UNGROUNDED_CAP), 3)
    return round(f.agreement * f.supported_fraction, 3)
