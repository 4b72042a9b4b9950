"""HTTP adapter of the reasoning service: ask (plain and streamed), traces, replay, routes, retrieval settings."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel, ConfigDict, Field

from sutazai.lib.access import CollectionName, Principal
from sutazai.lib.confidence import Grounding
from sutazai.lib.deps import CurrentPrincipal, PlatformAdmin
from sutazai.lib.errors import SutazaiError, ValidationFailed
from sutazai.lib.security import credential_from
from sutazai.reasoning.answers import MAX_SEED, Answer, AskOptions
from sutazai.reasoning.core import Reasoner, error_payload
from sutazai.reasoning.deps import ReasonerDep
from sutazai.reasoning.planning import RetrievalSettings
from sutazai.reasoning.tools.answering import Claim

router = APIRouter(prefix="/api/reasoning/v1", tags=["reasoning"])


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_steps: int | None = Field(default=None, ge=1, le=1000, description="capped by the service's policy")
    max_tokens: int | None = Field(default=None, ge=1, le=10_000_000)
    max_seconds: float | None = Field(default=None, gt=0, le=3600)


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="of the first sample")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="fixed by default so answers are reproducible")
    samples: int | None = Field(default=None, ge=1, le=16, description="self-consistency samples")
    abstain_below: float | None = Field(default=None, ge=0.0, le=1.0,
                                        description="abstain when the confidence is lower")
    budget: BudgetIn = Field(default_factory=BudgetIn)
    routes: dict[str, str] | None = Field(default=None, max_length=8, description=(
        "model per step kind for this question only, e.g. {\"synthesize\": \"qwen2.5-coder-1.5b\"}; "
        "kinds and models as GET /api/reasoning/v1/routes lists them"))
    ensemble: list[str] | None = Field(default=None, min_length=2, max_length=5, description=(
        "vote across these models: the samples are spread over them, one after the other (at least as many "
        "samples as models)"))

    def to_options(self) -> AskOptions:
        return AskOptions(temperature=self.temperature, seed=self.seed, samples=self.samples,
                          abstain_below=self.abstain_below, routes=self.routes, ensemble=self.ensemble,
                          **self.budget.model_dump())


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=100_000, description="what you want answered")
    collection: CollectionName | None = Field(default=None, description="the document collection to ground the "
                                              "answer in (default: your credential's first, or 'default')")
    options: Options = Field(default_factory=Options)


class Citation(BaseModel):
    document_id: str
    chunk_id: str
    text: str
    source: str | None = Field(default=None, description="the document's source name")


class AskResponse(BaseModel):
    answer: str = Field(description="numbered citations follow supported sentences; [unsupported] marks "
                                    "a claim no source backs")
    citations: list[Citation]
    confidence: float | None = Field(description="0-1: the calibrated probability that the answer is right, from "
                                    "the metacognition service (the documented prior when it cannot be asked)")
    abstained: bool
    reason: str | None
    trace_id: uuid.UUID
    model: str
    claims: list[Claim]
    budget: dict[str, Any]
    spent: dict[str, Any]
    assessment: dict[str, Any] | None = Field(default=None, description="how the confidence was reached: the "
                                              "answer's features, the probability, the calibrator's version "
                                              "(null: the prior) and the threshold applied")
    withheld: str | None = Field(default=None, description="when the answer was withheld for low confidence, the "
                                 "answer that was withheld")
    grounding: Grounding = Field(default="none", description="where the answer comes from: 'documents' (the cited "
                                 "passages), 'computed' (a tool, from the question's own values), 'model' (the "
                                 "model's general knowledge: the documents do not cover the question), 'none' "
                                 "(no answer)")

    @classmethod
    def of(cls, answer: Answer) -> AskResponse:
        return cls.model_validate(answer.to_dict())


class Step(BaseModel):
    seq: int
    step_id: str | None
    kind: str
    tool: str
    purpose: str
    depends_on: list[str]
    status: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    model: str | None
    model_digest: str | None = Field(default=None, description="sha256 of the weights that served the step")
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
    plan: dict[str, Any] | None
    answer: str | None
    confidence: float | None
    abstained: bool
    reason: str | None
    citations: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    spend: dict[str, Any]
    assessment: dict[str, Any] | None = None
    error: str | None
    request_id: str | None
    replay_of: uuid.UUID | None
    started_at: datetime
    finished_at: datetime | None
    steps: list[Step]


class Replay(BaseModel):
    trace_id: uuid.UUID
    replay_of: uuid.UUID
    reproduced: bool
    differences: list[str]
    answer: str


class Routes(BaseModel):
    routes: dict[str, str] = Field(description="model per step kind (plan, extract, synthesize, verify)")
    models: list[str] = Field(default_factory=list, description="models a route may name")


class FusionWeightsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keyword: float = Field(default=1.0, ge=0.0, le=3.0, description="weight of the keyword (BM25) ranking")
    vector: float = Field(default=1.0, ge=0.0, le=3.0, description="weight of the vector ranking")


class Retrieval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    depth: int = Field(ge=1, le=12, description="passages the question's own search returns (entity searches: "
                       "one less)")
    weights: FusionWeightsIn = Field(default_factory=FusionWeightsIn, description="reciprocal-rank fusion weights")


@router.post("/ask", response_model=AskResponse, summary="Ask a question")
async def ask(body: AskRequest, request: Request, principal: CurrentPrincipal,
              reasoner: ReasonerDep) -> AskResponse:
    answer = await reasoner.ask(question=body.question, principal=principal, collection=body.collection,
                                options=body.options.to_options(), credential=credential_from(request))
    return AskResponse.of(answer)


@router.post("/ask/stream", response_model=None, summary="Ask, streaming each step as server-sent events "
             "(trace, plan, step..., draft... (the answer as it is written, not yet checked), answer or error)",
             responses={200: {"content": {"text/event-stream": {}}, "description": "a stream of events"}})
async def ask_stream(body: AskRequest, request: Request, principal: CurrentPrincipal,
                     reasoner: ReasonerDep) -> EventSourceResponse:
    reasoner.check(question=body.question, principal=principal, collection=body.collection,
                   routes=body.options.routes, ensemble=body.options.ensemble)
    return EventSourceResponse(_events(reasoner, body, principal, credential_from(request)))


_running: set[asyncio.Task[None]] = set()


async def _events(reasoner: Reasoner, body: AskRequest, principal: Principal,
                  credential: str | None) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()

    async def emit(kind: str, data: dict[str, Any]) -> None:
        await queue.put((kind, data))

    async def run() -> None:
        try:
            await reasoner.ask(question=body.question, principal=principal, collection=body.collection,
                               options=body.options.to_options(), credential=credential, emit=emit)
        except SutazaiError as exc:
            await queue.put(("error", error_payload(exc)))
        finally:
            await queue.put(None)

    task = asyncio.create_task(run())  # runs to the end even if the client leaves: the trace is kept
    _running.add(task)  # the loop holds tasks weakly; this keeps a deserted one alive
    task.add_done_callback(_running.discard)
    while (item := await queue.get()) is not None:
        kind, data = item
        yield format_sse_event(event=kind, data_str=json.dumps(data, default=str))
    await task


@router.get("/traces/{trace_id}", response_model=Trace, summary="Read a stored trace")
async def get_trace(trace_id: uuid.UUID, principal: CurrentPrincipal, reasoner: ReasonerDep) -> Trace:
    return Trace.model_validate(await reasoner.trace(trace_id=trace_id, principal=principal))


@router.post("/traces/{trace_id}/replay", response_model=Replay, summary="Run a trace's question again "
             "with its options and seeds, and compare step by step")
async def replay(trace_id: uuid.UUID, request: Request, principal: CurrentPrincipal,
                 reasoner: ReasonerDep) -> Replay:
    return Replay.model_validate(await reasoner.replay(trace_id=trace_id, principal=principal,
                                                       credential=credential_from(request)))


@router.get("/routes", response_model=Routes, summary="Which model serves each kind of step")
async def get_routes(principal: CurrentPrincipal, reasoner: ReasonerDep) -> Routes:  # noqa: ARG001
    return Routes(routes=reasoner.router.routes(), models=reasoner.router.models())


@router.put("/routes", response_model=Routes, summary="Route step kinds to models (admin; kept in PostgreSQL)")
async def put_routes(body: Routes, request: Request, admin: PlatformAdmin, reasoner: ReasonerDep) -> Routes:
    routes = await reasoner.configuration.set_routes(routes=body.routes, actor=admin.subject,
                                                     credential=credential_from(request))
    return Routes(routes=routes, models=reasoner.router.models())


@router.get("/retrieval", response_model=Retrieval, summary="How deep searches go and how their rankings are fused")
async def get_retrieval(principal: CurrentPrincipal, reasoner: ReasonerDep) -> Retrieval:  # noqa: ARG001
    return Retrieval.model_validate((await reasoner.configuration.retrieval()).to_dict())


@router.put("/retrieval", response_model=Retrieval, summary="Set the retrieval depth and fusion weights (admin; "
            "kept in PostgreSQL; audited)")
async def put_retrieval(body: Retrieval, request: Request, admin: PlatformAdmin, reasoner: ReasonerDep) -> Retrieval:
    if body.weights.keyword == 0.0 and body.weights.vector == 0.0:
        raise ValidationFailed("the keyword and vector weights cannot both be 0; one ranking must count")
    settings = RetrievalSettings(depth=body.depth, keyword=body.weights.keyword, vector=body.weights.vector)
    found = await reasoner.configuration.set_retrieval(settings=settings, actor=admin.subject,
                                                       credential=credential_from(request))
    return Retrieval.model_validate(found.to_dict())
