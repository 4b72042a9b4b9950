"""HTTP adapter of the reasoning service: ask (plain and streamed), traces, replay, routes, retrieval settings."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel

from sutazai.lib.access import Principal
from sutazai.lib.contracts import reasoning as contract
from sutazai.lib.contracts.reasoning import AskRequest, AskResponse, Options, Retrieval, Routes, Trace
from sutazai.lib.deps import CurrentPrincipal, PlatformAdmin
from sutazai.lib.errors import SutazaiError, ValidationFailed
from sutazai.lib.security import credential_from
from sutazai.reasoning.answers import AskOptions
from sutazai.reasoning.deps import ReasonerDep
from sutazai.reasoning.planning import RetrievalSettings
from sutazai.reasoning.reasoner import Reasoner, error_payload

router = APIRouter(prefix=contract.PREFIX, tags=["reasoning"])


def to_options(options: Options) -> AskOptions:
    return AskOptions(temperature=options.temperature, seed=options.seed, samples=options.samples,
                      abstain_below=options.abstain_below, routes=options.routes, ensemble=options.ensemble,
                      **options.budget.model_dump())


class Replay(BaseModel):
    trace_id: uuid.UUID
    replay_of: uuid.UUID
    reproduced: bool
    differences: list[str]
    answer: str


@router.post("/ask", response_model=AskResponse, summary="Ask a question")
async def ask(body: AskRequest, request: Request, principal: CurrentPrincipal,
              reasoner: ReasonerDep) -> AskResponse:
    answer = await reasoner.ask(question=body.question, principal=principal, collection=body.collection,
                                options=to_options(body.options), credential=credential_from(request))
    return AskResponse.model_validate(answer.to_dict())


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
                               options=to_options(body.options), credential=credential, emit=emit)
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
