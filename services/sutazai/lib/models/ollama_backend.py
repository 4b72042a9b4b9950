"""Ollama (production): the official `ollama` client against the GPU host's server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import ollama

from sutazai.lib.errors import ErrorMapping, ModelUnavailable, SutazaiError, ValidationFailed, translated
from sutazai.lib.models.interface import (
    ChatMessage,
    ChatResult,
    EmbeddingKind,
    StreamEnd,
    validate_schema_output,
)

E5_PREFIX = {"query": "query: ", "passage": "passage: "}


def ollama_errors(url: str) -> ErrorMapping:
    """How an Ollama server's errors reach callers. Every ModelUnavailable counts towards the
    circuit breaker; a request Ollama refuses as malformed (4xx) does not."""

    def refused(exc: ollama.ResponseError) -> SutazaiError:
        if exc.status_code == 404 or exc.status_code == 429 or exc.status_code >= 500:
            return ModelUnavailable(f"Ollama at {url} refused the request: {exc.error}")
        return ValidationFailed(f"Ollama at {url} refused the request as invalid: {exc.error}")

    return (
        (ollama.ResponseError, refused),
        (httpx.TimeoutException, lambda e: ModelUnavailable(f"Ollama at {url} is unreachable: no answer in time "
                                                             f"({e})")),
        (httpx.HTTPError, lambda e: ModelUnavailable(f"Ollama at {url} is unreachable: {e}")),
        (ConnectionError, lambda e: ModelUnavailable(f"Ollama at {url} is unreachable: {e}")),
    )


class OllamaBackend:
    """ModelBackend over an Ollama server. Embedding models of the e5 family expect
    'query: ' / 'passage: ' prefixes, which are added when `e5_prefixes` is true."""

    def __init__(
        self, url: str, *, chat_model: str, embed_model: str, timeout: float = 120.0,
        e5_prefixes: bool = True, dimensions: int = 384,
    ) -> None:
        self._url = url
        self._client = ollama.AsyncClient(host=url, timeout=timeout)
        self._chat_model, self._embed_model = chat_model, embed_model
        self._e5_prefixes, self._dimensions = e5_prefixes, dimensions
        self._errors = ollama_errors(url)
        self.digest: str | None = None
        self._closed = False

    @property
    def chat_model(self) -> str:
        return self._chat_model

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def _request(self, messages: Sequence[ChatMessage], temperature: float, max_tokens: int,
                 seed: int | None) -> dict[str, Any]:
        """The arguments of a chat call, streamed or not."""
        options: dict[str, Any] = {"temperature": temperature, "num_predict": max_tokens}
        if seed is not None:
            options["seed"] = seed
        return {"model": self._chat_model, "options": options,
                "messages": [{"role": m.role, "content": m.content} for m in messages]}

    async def chat(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 256,
        seed: int | None = None, json_schema: dict[str, Any] | None = None,
    ) -> ChatResult:
        self._check_open()
        with translated(self._errors):
            response = await self._client.chat(**self._request(messages, temperature, max_tokens, seed),
                                               format=json_schema)
        text = response.message.content or ""
        if json_schema is not None:
            validate_schema_output(text, json_schema, self._chat_model)
        return ChatResult(
            text=text, model=self._chat_model,
            prompt_tokens=int(response.prompt_eval_count or 0),
            completion_tokens=int(response.eval_count or 0),
            finish_reason=str(response.done_reason or "stop"), digest=self.digest,
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 256,
        seed: int | None = None, json_schema: dict[str, Any] | None = None,
    ) -> AsyncIterator[str | StreamEnd]:
        self._check_open()
        with translated(self._errors):
            parts = await self._client.chat(**self._request(messages, temperature, max_tokens, seed), stream=True,
                                            format=json_schema)
            async for part in parts:
                if part.message.content:
                    yield part.message.content
                if part.done:
                    yield StreamEnd(str(part.done_reason or "stop"), int(part.prompt_eval_count or 0),
                                    int(part.eval_count or 0))

    async def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> list[list[float]]:
        self._check_open()
        if not texts:
            return []
        prefix = E5_PREFIX[kind] if self._e5_prefixes else ""
        with translated(self._errors):
            response = await self._client.embed(
                model=self._embed_model, input=[prefix + t for t in texts]
            )
        return [list(map(float, vector)) for vector in response.embeddings]

    async def ping(self) -> None:
        """Reachable, and both configured models are present."""
        self._check_open()
        with translated(self._errors):
            listing = await self._client.list()
        names = {m.model for m in listing.models}
        self.digest = next((m.digest for m in listing.models if m.model == self._chat_model), self.digest)
        missing = [m for m in (self._chat_model, self._embed_model) if m not in names]
        if missing:
            raise ModelUnavailable(
                f"Ollama at {self._url} lacks model(s) {', '.join(missing)}; run `ollama pull` "
                "or load them from the offline bundle (see models/README.md)"
            )

    def _check_open(self) -> None:
        if self._closed:
            raise ModelUnavailable("the Ollama backend is closed")

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._client.close()  # type: ignore[no-untyped-call]
