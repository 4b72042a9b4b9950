"""What asking produces: the answer (or abstention) with its citations, claims, confidence and
spend, and the options a question is asked with."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from sutazai.lib.confidence import Grounding
from sutazai.reasoning.steps import Budget


@dataclass(frozen=True)
class AskOptions:
    temperature: float = 0.0
    seed: int = 0
    samples: int | None = None
    abstain_below: float | None = None
    max_steps: int | None = None
    max_tokens: int | None = None
    max_seconds: float | None = None
    today: str | None = None
    routes: dict[str, str] | None = None
    ensemble: list[str] | None = None


@dataclass
class Answer:
    trace_id: uuid.UUID
    answer: str
    model: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    confidence: float | None = None
    abstained: bool = False
    reason: str | None = None
    claims: list[dict[str, Any]] = field(default_factory=list)
    budget: dict[str, Any] = field(default_factory=dict)
    spent: dict[str, Any] = field(default_factory=dict)
    assessment: dict[str, Any] | None = None
    """the confidence assessment: features, probability, calibrator version, threshold"""
    withheld: str | None = None
    """when abstaining for low confidence, the answer that was withheld"""
    grounding: Grounding = "none"
    """where the answer comes from: 'documents' (cited passages), 'computed' (a tool, from the question's
    own values), 'model' (general knowledge: the documents do not cover the question), 'none' (abstained)"""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["trace_id"] = str(self.trace_id)
        return data


@dataclass(frozen=True)
class Policy:
    samples: int
    sample_temperature: float
    abstain_below: float
    default: Budget
    limit: Budget
    max_question_chars: int
    adaptive_samples: int = 0
    """the most program samples while the earlier ones disagree (0: `samples`)"""

    def budget(self, options: AskOptions) -> Budget:
        return Budget(
            max_steps=min(options.max_steps or self.default.max_steps, self.limit.max_steps),
            max_tokens=min(options.max_tokens or self.default.max_tokens, self.limit.max_tokens),
            max_seconds=min(options.max_seconds or self.default.max_seconds, self.limit.max_seconds),
        )
