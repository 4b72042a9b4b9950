"""OpenAI-compatible endpoints, so existing clients can use SutazAI as a model. The model
`sutazai` is the whole pipeline (plan, tools, citations, confidence; the extra `sutazai` field
of a response carries them); every other listed model is the local model itself."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import struct
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

import jsonschema
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel, ConfigDict, Field

from sutazai.lib.access import CollectionName, Principal
from sutazai.lib.contracts.reasoning import MAX_SEED
from sutazai.lib.deps import CurrentPrincipal
from sutazai.lib.errors import NotFound, SutazaiError, ValidationFailed
from sutazai.lib.models import ChatMessage, ModelBackend, StreamEnd
from sutazai.lib.security import credential_from
from sutazai.reasoning.answers import Answer, AskOptions
from sutazai.reasoning.deps import ReasonerDep
from sutazai.reasoning.reasoner import Reasoner

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
PIPELINE = "sutazai"
CREATED = 1_767_225_600  # 2026-01-01, a fixed 'created' for the listed models
EMBEDDINGS = "multilingual-e5-small"
"""The embedding model /v1/embeddings serves (the bundled e5 embedder, 384 dimensions)."""
MAX_EMBED_INPUTS, MAX_EMBED_CHARS = 256, 8000


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class JsonSchemaFormat(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(default="reply", max_length=64)
    schema_: dict[str, Any] = Field(default_factory=lambda: {"type": "object"}, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: JsonSchemaFormat | None = None


class FunctionSpec(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str = Field(default="", max_length=2000)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["function"] = "function"
    function: FunctionSpec


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[Message] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1, description="one choice per request")
    response_format: ResponseFormat | None = Field(default=None, description="json_object or json_schema: the "
                                                   "reply is constrained to it (a grammar on llama.cpp, `format` "
                                                   "on Ollama); raw models only")
    tools: list[ToolSpec] | None = Field(default=None, max_length=64, description="functions the model may call "
                                         "(raw models only); the call is constrained to the functions' schemas")
    tool_choice: str | dict[str, Any] | None = Field(default=None, description='"auto", "none", "required" or '
                                                     '{"type": "function", "function": {"name": ...}}')
    collection: CollectionName | None = Field(default=None,
                                              description="SutazAI extension: collection to ground in")
    stream_draft: bool = Field(default=True, description=(
        "SutazAI extension, model `sutazai` with `stream`: send the answer's text as the model writes it "
        "(then the sources once it is checked, or a withdrawal and the checked reply when checking "
        "changed it); false: send only the checked reply, after checking"))

    def usage_wanted(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


def _model_entry(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": CREATED, "owned_by": "sutazai"}


@router.get("/models", summary="Models you can name in chat completions (and the embedding model)")
async def list_models(principal: CurrentPrincipal, reasoner: ReasonerDep) -> dict[str, Any]:  # noqa: ARG001
    names = [PIPELINE, *reasoner.router.models(), EMBEDDINGS]
    return {"object": "list", "data": [_model_entry(n) for n in names]}


@router.get("/models/{model_id:path}", summary="One model (models.retrieve)")
async def retrieve_model(model_id: str, principal: CurrentPrincipal,  # noqa: ARG001
                         reasoner: ReasonerDep) -> dict[str, Any]:
    if model_id not in (PIPELINE, EMBEDDINGS, *reasoner.router.models()):
        known = ", ".join([PIPELINE, *reasoner.router.models(), EMBEDDINGS])
        raise NotFound(f"model {model_id!r} does not exist; available: {known}")
    return _model_entry(model_id)


@router.post("/chat/completions", summary="Chat completion (streaming or not)", response_model=None)
async def chat_completions(body: ChatRequest, request: Request, principal: CurrentPrincipal,
                           reasoner: ReasonerDep) -> JSONResponse | EventSourceResponse:
    check_messages(body)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.model == PIPELINE:
        if body.tools or (body.response_format and body.response_format.type != "text"):
            raise ValidationFailed(f"model {PIPELINE!r} answers in text with citations; tools and response_format "
                                   "apply to the raw models (GET /v1/models lists them)")
        question = next((m.text() for m in reversed(body.messages) if m.role == "user"), "")
        options = AskOptions(temperature=body.temperature or 0.0, seed=body.seed or 0)
        credential = credential_from(request)
        if body.stream:
            reasoner.check(question=question, principal=principal, collection=body.collection)
            return EventSourceResponse(_pipeline_stream(completion_id, reasoner, question, principal, body,
                                                        options, credential))
        answer = await reasoner.ask(question=question, principal=principal, collection=body.collection,
                                    credential=credential, options=options)
        return JSONResponse(_completion(completion_id, PIPELINE, _render(answer), {"content": _render(answer)},
                                        "stop", _pipeline_usage(answer), _extra(answer)))
    model = _model(reasoner, body.model)
    messages = [ChatMessage("system" if m.role in {"system", "developer"} else
                            "assistant" if m.role == "assistant" else "user", _message_text(m)) for m in body.messages]
    max_tokens = min(body.max_completion_tokens or body.max_tokens or 256, reasoner.max_tokens_cap)
    schema, tools = _constraint(body)
    if schema is not None:
        messages = [ChatMessage("system", _constraint_note(body, tools)), *messages]
        if body.stream and not tools:  # JSON mode: written token by token under the grammar, as OpenAI does
            return EventSourceResponse(_model_stream(completion_id, model, messages, body, max_tokens, schema))
        result = await model.chat(messages, temperature=body.temperature or 0.0, max_tokens=max_tokens,
                                  seed=body.seed, json_schema=schema)
        message, finish = _constrained_message(result.text, tools)
        usage = _usage(result.prompt_tokens, result.completion_tokens)
        if body.stream:
            return EventSourceResponse(_replay_stream(completion_id, result.model, message, finish,
                                                      usage if body.usage_wanted() else None))
        return JSONResponse(_completion(completion_id, result.model, message.get("content"), message, finish, usage))
    if body.stream:
        return EventSourceResponse(_model_stream(completion_id, model, messages, body, max_tokens))
    result = await model.chat(messages, temperature=body.temperature or 0.0, max_tokens=max_tokens, seed=body.seed)
    finish = "length" if result.finish_reason == "length" else "stop"
    return JSONResponse(_completion(completion_id, result.model, result.text, {"content": result.text}, finish,
                                    _usage(result.prompt_tokens, result.completion_tokens)))


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = EMBEDDINGS
    input: str | list[str] = Field(description="a text or up to 256 texts")
    encoding_format: Literal["float", "base64"] = Field(default="float", description="base64: little-endian "
                                                         "float32 values, as the openai client asks by default")
    input_type: Literal["query", "passage"] = Field(default="passage", description="SutazAI extension: e5 "
                                                    "encodes queries and passages differently")


@router.post("/embeddings", summary="Embeddings with the bundled embedder (multilingual e5-small)")
async def embeddings(body: EmbeddingsRequest, principal: CurrentPrincipal,  # noqa: ARG001
                     reasoner: ReasonerDep) -> dict[str, Any]:
    if body.model != EMBEDDINGS:
        raise NotFound(f"embedding model {body.model!r} does not exist; use {EMBEDDINGS!r}")
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    if not texts or len(texts) > MAX_EMBED_INPUTS:
        raise ValidationFailed(f"input holds {len(texts)} texts; send 1 to {MAX_EMBED_INPUTS}")
    if any(not t.strip() for t in texts):
        raise ValidationFailed("every input text must have some text; an empty one has no embedding")
    if any(len(t) > MAX_EMBED_CHARS for t in texts):
        raise ValidationFailed(f"an input text is longer than {MAX_EMBED_CHARS} characters; split it")
    backend = reasoner.router.default
    vectors = await backend.embed(texts, kind=body.input_type)
    counter = getattr(backend, "count_tokens", None)  # the bundled embedder counts; Ollama's API does not say
    tokens = int(counter(texts, kind=body.input_type) or 0) if counter is not None else 0
    return {"object": "list", "model": EMBEDDINGS,
            "data": [{"object": "embedding", "index": i,
                      "embedding": _b64(v) if body.encoding_format == "base64" else v} for i, v in enumerate(vectors)],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _b64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _message_text(m: Message) -> str:
    """A tool result or an assistant's tool call, as text the model can read."""
    extra = m.model_extra or {}
    if m.role == "tool":
        return f"Result of tool call {extra.get('tool_call_id', '')}: {m.text()}"
    calls = extra.get("tool_calls")
    if m.role == "assistant" and calls:
        return m.text() + "".join(f"\nCalled {c.get('function', {}).get('name')} with "
                                  f"{c.get('function', {}).get('arguments')}" for c in calls)
    return m.text()


def _constraint(body: ChatRequest) -> tuple[dict[str, Any] | None, list[ToolSpec]]:
    """The JSON schema the reply is constrained to (response_format, or a tool call), and the tools
    it may call."""
    tools = list(body.tools or [])
    choice = body.tool_choice
    if isinstance(choice, dict):
        wanted = str((choice.get("function") or {}).get("name", ""))
        tools = [t for t in tools if t.function.name == wanted]
        if not tools:
            raise ValidationFailed(f"tool_choice names {wanted!r}, which is not among the tools")
    if tools and choice != "none":
        calls = [{"type": "object", "properties": {"name": {"const": t.function.name},
                                                   "arguments": _checked_schema(t.function.parameters)},
                  "required": ["name", "arguments"], "additionalProperties": False} for t in tools]
        options: list[dict[str, Any]] = [{"type": "object", "properties": {"tool_call": {"anyOf": calls}},
                                          "required": ["tool_call"], "additionalProperties": False}]
        if choice in (None, "auto"):
            options.append({"type": "object", "properties": {"content": {"type": "string"}},
                            "required": ["content"], "additionalProperties": False})
        elif choice not in ("required",) and not isinstance(choice, dict):
            raise ValidationFailed('tool_choice is "auto", "none", "required" or {"type": "function", "function": '
                                   '{"name": ...}}')
        return (options[0] if len(options) == 1 else {"anyOf": options}), tools
    fmt = body.response_format
    if fmt is None or fmt.type == "text":
        return None, []
    if fmt.type == "json_object":
        return {"type": "object"}, []
    if fmt.json_schema is None:
        raise ValidationFailed('response_format of type json_schema needs "json_schema": '
                               '{"name": ..., "schema": {...}}')
    return _checked_schema(fmt.json_schema.schema_), []


def _checked_schema(schema: dict[str, Any]) -> dict[str, Any]:
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValidationFailed(f"the JSON schema is not valid: {exc.message}") from exc
    return schema


def _constraint_note(body: ChatRequest, tools: list[ToolSpec]) -> str:
    if not tools:
        return "Reply with JSON only."
    listed = "\n".join(f"- {t.function.name}: {t.function.description} Arguments (JSON schema): "
                        f"{json.dumps(t.function.parameters)}" for t in tools)
    either = ('Reply with JSON only: {"tool_call": {"name": ..., "arguments": {...}}} to call a tool'
              + (', or {"content": "..."} to answer directly.' if body.tool_choice in (None, "auto") else "."))
    return f"You can call these tools:\n{listed}\n{either}"


def _constrained_message(text: str, tools: list[ToolSpec]) -> tuple[dict[str, Any], str]:
    """(the assistant message, finish_reason) from a constrained reply."""
    if not tools:
        return {"content": text}, "stop"
    value = json.loads(text)
    if "tool_call" not in value:
        return {"content": str(value.get("content", ""))}, "stop"
    call = value["tool_call"]
    return {"content": None, "tool_calls": [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                                             "function": {"name": call["name"],
                                                          "arguments": json.dumps(call["arguments"])}}]}, "tool_calls"


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


def _plain(text: str) -> str:
    return " ".join(re.sub(r"\s*\[(?:\d+(?:\s*,\s*\d+)*|unsupported)\]", "", text).split())


def _after_draft(answer: Answer, draft: str) -> tuple[str, bool]:
    """What follows an answer sent as it was written: its sources when checking kept it (the
    checked text, with its citation marks, is in the final chunk's extension); when checking
    withdrew it (abstained, or the samples' vote chose another answer), a withdrawal and the
    checked reply."""
    kept = not answer.abstained and _plain(answer.answer) == _plain(draft)
    if kept:
        rendered = _render(answer)
        return rendered[len(answer.answer):], True
    return "\n\n[withdrawn after checking]\n\n" + _render(answer), False


def _extra(answer: Answer) -> dict[str, Any]:
    return {"sutazai": {"trace_id": str(answer.trace_id), "confidence": answer.confidence,
                        "abstained": answer.abstained, "reason": answer.reason, "citations": answer.citations,
                        "grounding": answer.grounding}}


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _pipeline_usage(answer: Answer) -> dict[str, int]:
    """The tokens every model step of the pipeline read and wrote."""
    spent = answer.spent
    return _usage(int(spent.get("prompt_tokens", 0)), int(spent.get("completion_tokens", 0)))


def _completion(completion_id: str, model: str, content: str | None, message: dict[str, Any], finish: str,
                usage: dict[str, int], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    del content
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": None, **message},
                         "finish_reason": finish, "logprobs": None}],
            "usage": usage, **(extra or {})}


def _chunk(completion_id: str, model: str, delta: dict[str, Any] | None, finish: str | None = None,
           extra: dict[str, Any] | None = None, usage: dict[str, int] | None = None,
           with_usage: bool = False) -> bytes:
    """One chunk; `delta` None: the usage chunk (no choices) that include_usage asks for last."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
    data = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": choices, **({"usage": usage} if with_usage else {}), **(extra or {})}
    return format_sse_event(data_str=json.dumps(data, default=str))


async def _replay_stream(completion_id: str, model: str, message: dict[str, Any], finish: str,
                         usage: dict[str, int] | None, extra: dict[str, Any] | None = None) -> AsyncIterator[bytes]:
    """A reply that was whole before it could be sent (checked against its schema first)."""
    wanted = usage is not None
    yield _chunk(completion_id, model, {"role": "assistant", "content": ""}, with_usage=wanted)
    if message.get("tool_calls"):
        calls = [{"index": i, **c} for i, c in enumerate(message["tool_calls"])]
        yield _chunk(completion_id, model, {"tool_calls": calls}, with_usage=wanted)
    content = message.get("content") or ""
    for start in range(0, len(content), 64):
        yield _chunk(completion_id, model, {"content": content[start:start + 64]}, with_usage=wanted)
    yield _chunk(completion_id, model, {}, finish, extra, with_usage=wanted)
    if usage is not None:
        yield _chunk(completion_id, model, None, usage=usage, with_usage=True)
    yield format_sse_event(data_str="[DONE]")


async def _model_stream(completion_id: str, model: ModelBackend, messages: list[ChatMessage], body: ChatRequest,
                        max_tokens: int, schema: dict[str, Any] | None = None) -> AsyncIterator[bytes]:
    """The raw model's tokens as they are written (under `schema`'s grammar when given; a reply cut
    by max_tokens ends with finish_reason "length", its JSON unfinished, as OpenAI's JSON mode
    does); the finish reason and usage from its end."""
    wanted = body.usage_wanted()
    yield _chunk(completion_id, model.chat_model, {"role": "assistant", "content": ""}, with_usage=wanted)
    end = StreamEnd("stop", 0, 0)
    async for piece in model.stream(messages, temperature=body.temperature or 0.0, max_tokens=max_tokens,
                                    seed=body.seed, json_schema=schema):
        if isinstance(piece, StreamEnd):
            end = piece
        else:
            yield _chunk(completion_id, model.chat_model, {"content": piece}, with_usage=wanted)
    finish = "length" if end.finish_reason == "length" else "stop"
    yield _chunk(completion_id, model.chat_model, {}, finish, with_usage=wanted)
    if wanted:
        yield _chunk(completion_id, model.chat_model, None, usage=_usage(end.prompt_tokens, end.completion_tokens),
                     with_usage=True)
    yield format_sse_event(data_str="[DONE]")


async def _pipeline_stream(completion_id: str, reasoner: Reasoner, question: str, principal: Principal,
                           body: ChatRequest, options: AskOptions, credential: str | None) -> AsyncIterator[bytes]:
    """The pipeline's steps as they happen (chunks with an empty delta and the `sutazai` extension:
    {"event": "plan" | "step" | ..., "data": ...}); the answer's tokens as the model writes them
    (`stream_draft`); once checked, its sources (or, when checking changed it, a withdrawal and the
    checked reply); the finish (its extension holds the checked answer) and usage."""
    wanted = body.usage_wanted()
    queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()

    async def emit(kind: str, data: dict[str, Any]) -> None:
        await queue.put((kind, data))

    async def run() -> None:
        try:
            answer = await reasoner.ask(question=question, principal=principal, collection=body.collection,
                                        credential=credential, options=options, emit=emit)
            await queue.put(("__answer__", answer))
        except SutazaiError as exc:
            await queue.put(("__error__", exc))
        finally:
            await queue.put(None)

    task = asyncio.create_task(run())  # runs to the end even if the client leaves: the trace is kept
    _running.add(task)
    task.add_done_callback(_running.discard)
    yield _chunk(completion_id, PIPELINE, {"role": "assistant", "content": ""}, with_usage=wanted)
    drafted: list[str] = []
    while (item := await queue.get()) is not None:
        kind, data = item
        if kind == "draft":
            if body.stream_draft:
                drafted.append(data["delta"])
                yield _chunk(completion_id, PIPELINE, {"content": data["delta"]}, with_usage=wanted)
        elif kind == "__answer__":
            content, kept = _after_draft(data, "".join(drafted)) if drafted else (_render(data), None)
            for start in range(0, len(content), 64):
                yield _chunk(completion_id, PIPELINE, {"content": content[start:start + 64]}, with_usage=wanted)
            extra = _extra(data)
            if kept is not None:
                extra["sutazai"].update(answer=data.answer, draft_kept=kept)
            yield _chunk(completion_id, PIPELINE, {}, "stop", extra, with_usage=wanted)
            if wanted:
                yield _chunk(completion_id, PIPELINE, None, usage=_pipeline_usage(data), with_usage=True)
        elif kind == "__error__":
            yield format_sse_event(data_str=json.dumps({"error": {"message": data.detail, "type": data.code,
                                                                  "code": data.status}}))
        elif kind != "answer":  # the answer event repeats what the answer chunks carry
            yield _chunk(completion_id, PIPELINE, {}, extra={"sutazai": {"event": kind, "data": data}},
                         with_usage=wanted)
    await task
    yield format_sse_event(data_str="[DONE]")


_running: set[asyncio.Task[None]] = set()


def check_messages(body: ChatRequest) -> None:
    if not any(m.role == "user" and m.text().strip() for m in body.messages):
        raise ValidationFailed("messages need at least one user message with text")
