"""Reasoning over HTTP with the real local model: a general question, the model backend going
down (circuit breaker, 503 with Retry-After, nothing lost) and coming back."""

import asyncio
import time

import httpx
import psycopg

from sutazai.runtime.model_server import ModelShelf, create_app
from sutazai.runtime.processes import free_port
from tests.integration.conftest import Backends, Platform, build_platform_app, create_key
from tests.servers import ServerThread


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_general_question_is_answered_by_the_model_and_labelled_as_its_own(prior_in_use: Platform) -> None:
    platform = prior_in_use
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as client:
        response = client.post("/api/reasoning/v1/ask", json={"question": "Name a primary colour."})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["answer"].strip() and body["model"].startswith("SmolLM2")
        assert not body["abstained"] and body["grounding"] == "model" and body["citations"] == []
        assert body["assessment"]["method"] == "prior", body["assessment"]
        assert body["confidence"] == 0.6  # the prior's ceiling for the model's own word (no calibrator fitted)
        trace = client.get(f"/api/reasoning/v1/traces/{body['trace_id']}").json()
    assert trace["status"] == "answered" and trace["plan"]["strategy"] == "general"
    assert trace["answer"] == body["answer"] and trace["confidence"] == body["confidence"]
    samples = [s for s in trace["steps"] if s["tool"] == "synthesize"]
    assert len(samples) == 1 and samples[0]["input"]["passage_sets"] == []  # the documents were not passed
    for step in samples:
        assert step["kind"] == "synthesize" and step["model"].startswith("SmolLM2")
        assert step["completion_tokens"] > 0 and step["latency_ms"] > 0
        assert step["input"]["question"] == "Name a primary colour."


def test_model_backend_down_opens_the_breaker_gives_503_and_loses_nothing(backends: Backends) -> None:
    double_port = free_port()
    port = free_port()
    # the breaker stays open 10 s: the three failing asks must fall inside that on a loaded machine
    app = build_platform_app(backends, port, model_backend="ollama", ollama_url=f"http://127.0.0.1:{double_port}",
                             model_reset_seconds=10, model_failure_threshold=2, samples=1)
    question = "Name a planet of the solar system."
    with ServerThread(app, port=port) as server:
        key = asyncio.run(create_key(backends, "admin"))
        with httpx.Client(base_url=server.url, headers=auth(key), timeout=120) as client:
            ready = client.get("/api/reasoning/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["model"]["status"] == "down"
            failures = [client.post("/api/reasoning/v1/ask", json={"question": question}) for _ in range(3)]
            for response in failures:
                assert response.status_code == 503, response.text
                assert response.json()["code"] == "model_unavailable"
                assert 0 < int(response.headers["Retry-After"]) <= 12
            assert "paused after repeated failures" in failures[-1].json()["detail"]  # the breaker is open
            with psycopg.connect(backends.postgres.dsn()) as conn:
                rows = conn.execute("SELECT id, status FROM reasoning.traces WHERE question = %s",
                                    (question,)).fetchall()
            assert {str(r[0]) for r in rows} == {r.json()["trace_id"] for r in failures}
            assert {r[1] for r in rows} == {"failed"}
            with ServerThread(create_app(ModelShelf(None, n_ctx=2048, n_threads=2)), port=double_port):
                # the breaker lets a trial call through after its reset time: until then a replay is
                # refused as the model's unavailability, then it succeeds
                deadline = time.monotonic() + 60
                while (replayed := client.post(
                        f"/api/reasoning/v1/traces/{failures[0].json()['trace_id']}/replay")).status_code != 200:
                    assert replayed.status_code == 503 and replayed.json()["code"] == "model_unavailable", \
                        replayed.text
                    assert time.monotonic() < deadline, "the breaker never let a call through again"
                    time.sleep(0.5)
                assert replayed.json()["answer"].strip()
                assert client.post("/api/reasoning/v1/ask", json={"question": question}).status_code == 200
