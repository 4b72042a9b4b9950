"""The learning service's contract: its paths and the request/response models other services and
clients exchange with it (the service's routes use these models as theirs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

PREFIX = "/api/learning/v1"
FEEDBACK = f"{PREFIX}/feedback"
CORRECTIONS = f"{PREFIX}/corrections"
EXEMPLARS = f"{PREFIX}/exemplars"
MEMORY = f"{PREFIX}/memory"
MODELS = f"{PREFIX}/models"
SUITES = f"{PREFIX}/suites"
RUNS = f"{PREFIX}/runs"
OUTCOMES = f"{PREFIX}/outcomes"
RECOMMENDATIONS = f"{PREFIX}/routing/recommendations"


def suite_path(name: str) -> str:
    return f"{SUITES}/{name}"


class PassageRef(BaseModel):
    chunk_id: str
    document_id: str | None = None
    source: str | None = None
    text: str


class MemoryExemplar(BaseModel):
    id: uuid.UUID
    question: str
    answer: str
    passage: PassageRef | None
    origin: str
    work: str | None = None


class DemotionOut(BaseModel):
    question: str
    chunk_id: str


class MemoryOut(BaseModel):
    collection: str
    exemplars: list[MemoryExemplar]
    demotions: list[DemotionOut]


class SuiteOut(BaseModel):
    suite_id: uuid.UUID
    name: str
    version: int
    description: str
    source: str
    digest: str = Field(description="SHA-256 of the canonical cases")
    cases: int
    created_by: str
    created_at: datetime
    versions: int | None = None


class CaseOut(BaseModel):
    id: str
    question: str
    answer: str | list[str] | int | float
    tolerance: int | float | None = None
    collection: str | None = None
    tags: list[str] = Field(default_factory=list)


class SuiteWithCases(SuiteOut):
    items: list[CaseOut]


class OutcomeOut(BaseModel):
    trace_id: uuid.UUID
    source: Literal["evaluation", "feedback"]
    correct: bool
    suite: str | None
    run_id: uuid.UUID | None
    recorded_at: datetime
