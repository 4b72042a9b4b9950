"""Fakes at interface boundaries, for unit tests only (named as fakes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sutazai.lib.errors import ModelUnavailable
from sutazai.lib.models import ChatMessage, ChatResult, EmbeddingKind


class FakeModelBackend:
    """A ModelBackend that answers from a script; `down=True` makes every call fail."""

    def __init__(self, answer: str = "fake answer", *, down: bool = False) -> None:
        self.answer, self.down = answer, down
        self.calls: list[list[ChatMessage]] = []

    @property
    def chat_model(self) -> str:
        return "fake-model"

    @property
    def dimensions(self) -> int:
        return 3

    async def chat(self, messages: Sequence[ChatMessage], **_: Any) -> ChatResult:
        if self.down:
            raise ModelUnavailable("fake backend is down")
        self.calls.append(list(messages))
        return ChatResult(self.answer, "fake-model", 10, 3, "stop")

    async def stream(self, messages: Sequence[ChatMessage], **_: Any) -> AsyncIterator[str]:
        for word in self.answer.split():
            yield word

    async def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> list[list[float]]:
        return [[1.0, 0.0, 0.0] for _ in texts]

    async def ping(self) -> None:
        if self.down:
            raise ModelUnavailable("fake backend is down")

    async def close(self) -> None:
        return None
