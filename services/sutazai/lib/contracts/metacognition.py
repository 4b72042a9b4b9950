"""The metacognition service's contract: its paths and the request/response models other services
and clients exchange with it (the service's routes use these models as theirs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sutazai.lib.confidence import AnswerKind

PREFIX = "/api/metacognition/v1"
ASSESSMENTS = f"{PREFIX}/assessments"
PROPOSALS = f"{PREFIX}/proposals"
CALIBRATORS = f"{PREFIX}/calibrators"
LABELS = f"{PREFIX}/labels"
ALERTS = f"{PREFIX}/alerts"
SETTINGS_VERSIONS = f"{PREFIX}/settings/versions"

Status = Literal["pending", "approved", "rejected", "applied", "superseded", "failed"]


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["routes", "abstain_below", "retrieval", "exemplars"]
    change: dict[str, Any] = Field(description='the settings it changes, e.g. {"routes": {"synthesize": "m"}}')
    evidence: dict[str, Any] = Field(default_factory=dict, description="what it rests on (runs, comparisons)")
    rationale: str = Field(default="", max_length=4000)
    source: str = Field(default="admin", max_length=100, description="who proposes: learning, a monitor, admin")


class ProposalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # the service builds it from its store's ProposalRow

    id: uuid.UUID
    applied_version: int | None = None
    kind: str
    change: dict[str, Any]
    evidence: dict[str, Any]
    rationale: str
    source: str
    status: Status
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class FeaturesIn(BaseModel):
    """What is known about an answer when it is decided."""

    model_config = ConfigDict(extra="forbid")
    agreement: float = Field(ge=0.0, le=1.0, description="share of the samples that gave the winning answer")
    supported_fraction: float | None = Field(ge=0.0, le=1.0, description="share of the answer's claims a source "
                                             "backs; null when nothing could be checked")
    retrieval_scores: list[float] = Field(default_factory=list, max_length=200,
                                          description="scores of the passages the answer could rest on")
    answer_kind: AnswerKind = Field(default="text", description="what the question asks for")
    strategy: str = Field(default="answer", max_length=40, description="the plan's strategy (answer, compute, "
                          "extract, remembered, ...)")
    step_kinds: list[str] = Field(default_factory=list, max_length=200)
    models: list[str] = Field(default_factory=list, max_length=20)
    samples: int = Field(default=1, ge=1, le=100)
    computed: bool = Field(default=False, description="a tool (the calculator) computed the answer")
    citations: int = Field(default=0, ge=0, le=1000)


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    features: FeaturesIn
    trace_id: uuid.UUID | None = Field(default=None, description="the answer's trace (labels join on it)")
    abstain_below: float | None = Field(default=None, ge=0.0, le=1.0, description="the question's own "
                                        "threshold; the service's active one when absent")


class AssessmentOut(BaseModel):
    assessment_id: uuid.UUID
    probability: float = Field(description="calibrated probability that the answer is right")
    calibrator: int = Field(description="the fitted calibrator's version (0: none fitted on this site's labels: "
                            "the one shipped with the model, or the documented prior; see source)")
    method: Literal["prior", "logistic", "isotonic"]
    source: str = Field(default="", description="where the calibrator comes from: fitted on this site's labels, "
                        "shipped with the model (file and digest), or the documented prior")
    threshold: float
    abstain: bool
