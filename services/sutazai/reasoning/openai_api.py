"""OpenAI-compatible endpoints, so existing clients can use SutazAI as a model. The model
`sutazai` is the whole pipeline (plan, tools, citations, confidence; the extra `sutazai` field
of a response carries them); every other listed model is the local model itself."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel, ConfigDict, Field

from sutazai.lib.access import CollectionName
from sutazai.lib.deps import CurrentPrincipal
from sutazai.lib.errors import NotFound, ValidationFailed
from sutazai.lib.models import ChatMessage, ModelBackend
from sutazai.lib.security import credential_from
from sutazai.reasoning.answers import MAX_SEED, Answer, AskOptions
from sutazai.reasoning.core import Reasoner
from sutazai.reasoning.deps import ReasonerDep

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
PIPELINE = "sutazai"
CREATED = 1_767_225_600  # 2026-01-01, a fixed 'created' for the listed models


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[Message] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    stream: bool = False
    n: int = Field(default=1, ge=1, le=1, description="one choice per request")
    collection: CollectionName | None = Field(default=None,
                                              description="SutazAI extension: collection to ground in")


@router.get("/models", summary="Models you can name in chat completions")
async def list_models(principal: CurrentPrincipal, reasoner: ReasonerDep) -> dict[str, Any]:  # noqa: ARG001
    names = [PIPELINE, *reasoner.router.models()]
    return {"object": "list", "data": [{"id": n, "object": "model", "created": CREATED, "owned_by": "sutazai"}
                                       for n in names]}


@router.post("/chat/completions", summary="Chat completion (streaming or not)", response_model=None)
async def chat_completions(body: ChatRequest, request: Request, principal: CurrentPrincipal,
                           reasoner: ReasonerDep) -> JSONResponse | EventSourceResponse:
    check_messages(body)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.model == PIPELINE:
        question = next((m.text() for m in reversed(body.messages) if m.role == "user"), "")
        answer = await reasoner.ask(
            question=question, principal=principal, collection=body.collection, credential=credential_from(request),
            options=AskOptions(temperature=body.temperature or 0.0, seed=body.seed or 0))
        content, extra = _render(answer), _extra(answer)
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": int(answer.spent.get("tokens", 0))}
        if body.stream:
            return EventSourceResponse(_replay_stream(completion_id, PIPELINE, content, extra))
        return JSONResponse(_completion(completion_id, PIPELINE, content, "stop", usage, extra))
    model = _model(reasoner, body.model)
    messages = [ChatMessage("system" if m.role in {"system", "developer"} else
                            "assistant" if m.role == "assistant" else "user", m.text()) for m in body.messages]
    cap = reasoner.max_tokens_cap
    max_tokens = min(body.max_completion_tokens or body.max_tokens or 256, cap)
    if body.stream:
        return EventSourceResponse(_model_stream(completion_id, model, messages, body, max_tokens))
    result = await model.chat(messages, temperature=body.temperature or 0.0, max_tokens=max_tokens, seed=body.seed)
    usage = {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
             "total_tokens": result.prompt_tokens + result.completion_tokens}
    finish = "length" if result.finish_reason == "length" else "stop"
    return JSONResponse(_completion(completion_id, result.model, result.text, finish, usage))


def _model(reasoner: Reasoner, name: str) -> ModelBackend:
    if name not in reasoner.router.models():
        known = ", ".join([PIPELINE, *reasoner.router.models()])
        raise NotFound(f"model {name!r} does not exist; available: {known}")
    return reasoner.router.by_name(name)


def _render(answer: Answer) -> str:
    lines = [answer.answer]
    if answer.citations:
        lines.append("\nSources:")
        lines += [f"[{i}] {c.get('source') or c['document_id']}: {' '.join(c['text'].split())[:200]}"
                  for i, c in enumerate(answer.citations, 1)]
    return "\n".join(lines)


def _extra(answer: Answer) -> dict[str, Any]:
    return {"sutazai": {"trace_id": str(answer.trace_id), "confidence": answer.confidence,
                        "abstained": answer.abstained, "reason": answer.reason, "citations": answer.citations}}


def _completion(completion_id: str, model: str, content: str, finish: str, usage: dict[str, int],
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": finish, "logprobs": None}],
            "usage": usage, **(extra or {})}


def _chunk(completion_id: str, model: str, delta: dict[str, Any], finish: str | None = None,
           extra: dict[str, Any] | None = None) -> bytes:
    data = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **(extra or {})}
    return format_sse_event(data_str=json.dumps(data))


async def _replay_stream(completion_id: str, model: str, content: str, extra: dict[str, Any]) -> AsyncIterator[bytes]:
    yield _chunk(completion_id, model, {"role": "assistant", "content": ""})
    for start in range(0, len(content), 64):
        yield _chunk(completion_id, model, {"content": content[start:start + 64]})
    yield _chunk(completion_id, model, {}, "stop", extra)
    yield format_sse_event(data_str="[DONE]")


async def _model_stream(completion_id: str, model: ModelBackend, messages: list[ChatMessage], body: ChatRequest,
                        max_tokens: int) -> AsyncIterator[bytes]:
    yield _chunk(completion_id, model.chat_model, {"role": "assistant", "content": ""})
    async for piece in model.stream(messages, temperature=body.temperature or 0.0, max_tokens=max_tokens,
                                    seed=body.seed):
        yield _chunk(completion_id, model.chat_model, {"content": piece})
    yield _chunk(completion_id, model.chat_model, {}, "stop")
    yield format_sse_event(data_str="[DONE]")


def check_messages(body: ChatRequest) -> None:
    if not any(m.role == "user" and m.text().strip() for m in body.messages):
        raise ValidationFailed("messages need at least one user message with text")
