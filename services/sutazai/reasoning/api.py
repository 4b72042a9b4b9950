"""HTTP adapter of the reasoning service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from sutazai.lib.security import CurrentPrincipal
from sutazai.reasoning.core import AskOptions, Reasoner

router = APIRouter(prefix="/api/reasoning/v1", tags=["reasoning"])


def get_reasoner(request: Request) -> Reasoner:
    reasoner: Reasoner = request.app.state.reasoner
    return reasoner


ReasonerDep = Annotated[Reasoner, Depends(get_reasoner)]


class Options(BaseModel):
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1, le=4096)
    seed: int | None = Field(default=0, description="fixed by default so answers are reproducible")


class AskRequest(BaseModel):
    question: str = Field(max_length=100_000, description="what you want answered")
    collection: str | None = Field(default=None, max_length=63)
    options: Options = Field(default_factory=Options)


class Citation(BaseModel):
    document_id: str
    chunk_id: str
    text: str


class AskResponse(BaseModel):
    answer: str
    citations: list[Citation]
    confidence: float | None = Field(description="0-1 once assessed by metacognition; null "
                                                 "until then")
    abstained: bool
    reason: str | None
    trace_id: uuid.UUID
    model: str


class Step(BaseModel):
    seq: int
    kind: str
    tool: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    started_at: datetime


class Trace(BaseModel):
    id: uuid.UUID
    subject: str
    question: str
    collection: str | None
    options: dict[str, Any]
    status: str
    answer: str | None
    error: str | None
    request_id: str | None
    started_at: datetime
    finished_at: datetime | None
    steps: list[Step]


@router.post("/ask", response_model=AskResponse, summary="Ask a question")
async def ask(body: AskRequest, principal: CurrentPrincipal, reasoner: ReasonerDep) -> AskResponse:
    answer = await reasoner.ask(
        question=body.question, principal=principal, collection=body.collection,
        options=AskOptions(**body.options.model_dump()),
    )
    return AskResponse(
        answer=answer.answer, citations=[Citation(**c) for c in answer.citations],
        confidence=answer.confidence, abstained=answer.abstained, reason=answer.reason,
        trace_id=answer.trace_id, model=answer.model,
    )


@router.get("/traces/{trace_id}", response_model=Trace, summary="Read a stored trace")
async def get_trace(trace_id: uuid.UUID, principal: CurrentPrincipal, reasoner: ReasonerDep) -> Trace:
    return Trace.model_validate(await reasoner.trace(trace_id=trace_id, principal=principal))
