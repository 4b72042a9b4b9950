"""The contract every model backend meets; services depend on this, never on a driver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import jsonschema

from sutazai.lib.errors import ModelOutputInvalid

Role = Literal["system", "user", "assistant"]
EmbeddingKind = Literal["query", "passage"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class ChatResult:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    digest: str | None = None
    """sha256 of the model's weights (llama.cpp: of the GGUF file; Ollama: its model digest)."""

    def json(self) -> Any:
        """The output parsed as JSON (for calls made with a schema)."""
        return json.loads(self.text)


@dataclass(frozen=True)
class StreamEnd:
    """The last item a stream yields, after the text: why it stopped ("stop" or "length") and the
    tokens read and written."""

    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class Embedder(Protocol):
    """Text to L2-normalised vectors; queries and passages may be encoded differently."""

    @property
    def dimensions(self) -> int: ...

    async def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> list[list[float]]: ...


class ModelBackend(Embedder, Protocol):
    """Chat, streaming, schema-constrained output and embeddings behind one interface."""

    @property
    def chat_model(self) -> str: ...

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        seed: int | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> ChatResult: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        max_tokens: int = 256,
        seed: int | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> AsyncIterator[str | StreamEnd]: ...
    """The answer's text as it is written, then one StreamEnd; with `json_schema`, constrained to
    it as `chat` is (the caller checks the whole text against the schema at the end)."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def validate_schema_output(text: str, schema: dict[str, Any], model: str) -> None:
    """Raise ModelOutputInvalid unless `text` is JSON that satisfies `schema`."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelOutputInvalid(f"{model} returned text that is not JSON: {exc.msg}") from exc
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        raise ModelOutputInvalid(f"{model} returned JSON that breaks the schema: {exc.message}") from exc
