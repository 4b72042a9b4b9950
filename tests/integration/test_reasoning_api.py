"""Reasoning over HTTP with the real local model (llama.cpp + SmolLM2) and real PostgreSQL."""

import asyncio

import httpx
import pytest

from sutazai.runtime.processes import free_port
from tests.integration.conftest import Backends, Platform, build_platform_app, create_key
from tests.servers import ServerThread


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_ask_answers_with_the_local_model_and_stores_the_trace(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as client:
        response = client.post("/api/reasoning/v1/ask", json={"question": "Name a primary colour."})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["answer"].strip() and body["model"].startswith("SmolLM2")
        assert body["abstained"] is False
        trace = client.get(f"/api/reasoning/v1/traces/{body['trace_id']}").json()
        assert trace["status"] == "answered" and trace["answer"] == body["answer"]
        step = trace["steps"][0]
        assert step["tool"] == "model" and step["completion_tokens"] > 0 and step["latency_ms"] > 0
        assert step["input"]["messages"][-1]["content"] == "Name a primary colour."


def test_same_question_at_temperature_zero_gives_the_same_answer(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as client:
        answers = {client.post("/api/reasoning/v1/ask", json={"question": "What is 2 + 2?"}).json()["answer"]
                   for _ in range(2)}
    assert len(answers) == 1


def test_traces_are_private_to_their_owner(platform: Platform) -> None:
    other = asyncio.run(create_key(platform.backends, "user"))
    with httpx.Client(base_url=platform.url, timeout=120) as client:
        asked = client.post("/api/reasoning/v1/ask", json={"question": "Say hi."}, headers=auth(other)).json()
        third = asyncio.run(create_key(platform.backends, "user"))
        hidden = client.get(f"/api/reasoning/v1/traces/{asked['trace_id']}", headers=auth(third))
        assert hidden.status_code == 404
        assert client.get(f"/api/reasoning/v1/traces/{asked['trace_id']}", headers=auth(other)).status_code == 200
        assert client.get(f"/api/reasoning/v1/traces/{asked['trace_id']}",
                          headers=auth(platform.admin_key)).status_code == 200


@pytest.mark.parametrize(("body", "fragment"), [
    ({"question": "   "}, "question is empty"),
    ({"question": "x" * 4001}, "limit is 4000"),
    ({}, "question: Field required"),
    ({"question": "hi", "options": {"temperature": 9}}, "options.temperature"),
])
def test_bad_questions_are_refused_clearly(platform: Platform, body: dict[str, object], fragment: str) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key)) as client:
        response = client.post("/api/reasoning/v1/ask", json=body)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_collection_outside_the_key_scope_is_forbidden(platform: Platform) -> None:
    scoped = asyncio.run(create_key(platform.backends, "user", ["hr"]))
    with httpx.Client(base_url=platform.url, headers=auth(scoped)) as client:
        response = client.post("/api/reasoning/v1/ask", json={"question": "hi", "collection": "finance"})
    assert response.status_code == 403 and "finance" in response.json()["detail"]


def test_model_backend_down_gives_503_with_retry_after_and_keeps_the_trace(backends: Backends) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    port = free_port()
    app = build_platform_app(backends, port, model_backend="ollama", ollama_url=dead)
    with ServerThread(app, port=port) as server:
        key = asyncio.run(create_key(backends, "admin"))
        with httpx.Client(base_url=server.url, headers=auth(key), timeout=60) as client:
            ready = client.get("/api/reasoning/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["model"]["status"] == "down"
            response = client.post("/api/reasoning/v1/ask", json={"question": "hello?"})
            assert response.status_code == 503
            assert response.json()["code"] == "model_unavailable"
            assert int(response.headers["Retry-After"]) > 0
    import psycopg

    with psycopg.connect(backends.postgres.dsn()) as conn:
        row = conn.execute("SELECT status, error FROM reasoning.traces WHERE question = 'hello?'").fetchone()
    assert row is not None and row[0] == "failed" and "unreachable" in row[1]


def test_token_budget_is_capped_by_policy(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as client:
        asked = client.post("/api/reasoning/v1/ask", json={"question": "Say hi.", "options": {"max_tokens": 4096}})
        assert asked.status_code == 200, asked.text
        trace = client.get(f"/api/reasoning/v1/traces/{asked.json()['trace_id']}").json()
    assert trace["options"]["max_tokens"] == 1024
