"""A circuit breaker around a model backend: after repeated failures to reach the model, calls
fail at once with ModelUnavailable (503 with Retry-After) until the reset time has passed,
instead of every request waiting for a timeout. Bad output from a reachable model does not
count as a failure."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pybreaker

from sutazai.lib.errors import ModelUnavailable
from sutazai.lib.models.interface import ChatMessage, ChatResult, EmbeddingKind, ModelBackend, StreamEnd


class GuardedBackend:
    """ModelBackend that delegates to `inner` through a circuit breaker."""

    def __init__(self, inner: ModelBackend, *, failure_threshold: int = 3, reset_seconds: int = 30) -> None:
        self.inner = inner
        self._reset = reset_seconds
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=failure_threshold, reset_timeout=reset_seconds,
            exclude=[lambda exc: not isinstance(exc, ModelUnavailable)],
        )

    @property
    def chat_model(self) -> str:
        return self.inner.chat_model

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def retry_after(self) -> int:
        """Seconds until the breaker lets a trial call through (at least 1)."""
        opened = self.breaker._state_storage.opened_at  # noqa: SLF001 - pybreaker exposes no getter
        if opened is None:
            return self._reset
        waited = (dt.datetime.now(dt.UTC) - opened).total_seconds()
        return max(int(self._reset - waited + 0.999), 1)

    def _open_error(self, exc: Exception | None = None) -> ModelUnavailable:
        cause = f": {exc}" if exc and not isinstance(exc, pybreaker.CircuitBreakerError) else ""
        return ModelUnavailable(
            f"the model backend ({self.inner.chat_model}) is unavailable; calls are paused after "
            f"repeated failures{cause}", retry_after=self.retry_after())

    async def chat(self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 256,
                   seed: int | None = None, json_schema: dict[str, Any] | None = None) -> ChatResult:
        try:
            with self.breaker.calling():
                return await self.inner.chat(messages, temperature=temperature, max_tokens=max_tokens,
                                             seed=seed, json_schema=json_schema)
        except pybreaker.CircuitBreakerError as exc:
            raise self._open_error(exc.__cause__ if isinstance(exc.__cause__, Exception) else None) from exc

    async def stream(self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 256,
                     seed: int | None = None,
                     json_schema: dict[str, Any] | None = None) -> AsyncIterator[str | StreamEnd]:
        try:
            with self.breaker.calling():
                async for piece in self.inner.stream(messages, temperature=temperature, max_tokens=max_tokens,
                                                     seed=seed, json_schema=json_schema):
                    yield piece
        except pybreaker.CircuitBreakerError as exc:
            raise self._open_error() from exc

    async def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> list[list[float]]:
        return await self.inner.embed(texts, kind=kind)

    def count_tokens(self, texts: Sequence[str], *, kind: EmbeddingKind) -> int | None:
        counter = getattr(self.inner, "count_tokens", None)
        return int(counter(texts, kind=kind)) if counter is not None else None

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()
