"""The reasoning pipeline over HTTP with the real local model (llama.cpp + SmolLM2), the real
knowledge service and PostgreSQL: plans, tools, citations, confidence, streaming, replay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sutazai.runtime.processes import free_port
from tests.integration.conftest import Backends, Platform, build_platform_app, create_key
from tests.integration.knowledge_helpers import auth, ingest_text
from tests.servers import ServerThread

ASK = "/api/reasoning/v1/ask"
CORPUS = {
    "orvane.txt": "Orvane Systems is a maker of industrial sensors based in Tallinn. "
                  "Orvane Systems employs 1,240 people.",
    "kestrel.txt": "Kestrel Biotech is a small laboratory company in Porto. Kestrel Biotech employs 385 people.",
    "lumen.txt": "The Lumen-7 sensor is made by Orvane Systems. It measures vibration in wind turbines.",
}


@pytest.fixture(scope="module")
def corpus(backends: Backends) -> Iterator[Platform]:
    """A platform whose collection 'firms' holds three short documents (graph extraction off,
    so ingestion is quick)."""
    port = free_port()
    app = build_platform_app(backends, port, knowledge_overrides={"graph_extraction": False})
    with ServerThread(app, port=port) as server:
        key = asyncio.run(create_key(backends, "admin"))
        with httpx.Client(base_url=server.url, headers=auth(key), timeout=120) as client:
            for source, text in CORPUS.items():
                ingest_text(client, text, source=source, collection="firms")
        yield Platform(server.url, backends, key)


def ask(platform: Platform, question: str, **body: Any) -> httpx.Response:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as client:
        return client.post(ASK, json={"question": question, **body})


def trace_of(platform: Platform, trace_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=60) as client:
        response = client.get(f"/api/reasoning/v1/traces/{trace_id}")
    assert response.status_code == 200, response.text
    return response.json()


def fully_supported(body: dict[str, Any]) -> bool:
    """Every sample agreed and nothing was unsupported (the prior's full confidence); the confidence
    given is the calibrated probability the metacognition service returned for it."""
    features = body["assessment"]["features"]
    return (features["agreement"] == 1.0 and features["supported_fraction"] in (None, 1.0)
            and body["confidence"] == body["assessment"]["probability"])


def test_a_calculation_is_done_exactly_by_the_calculator(corpus: Platform) -> None:
    response = ask(corpus, "What is 17 * 23 + 1/4?")
    assert response.status_code == 200, response.text
    body = response.json()
    assert "1565/4" in body["answer"] and fully_supported(body) and not body["abstained"]
    trace = trace_of(corpus, body["trace_id"])
    tools = [s["tool"] for s in trace["steps"]]
    assert tools[0] == "planner" and "calculator" in tools
    calc = next(s for s in trace["steps"] if s["tool"] == "calculator")
    assert calc["output"]["result"] == "1565/4" and calc["output"]["value"] == "391.25"


def test_a_question_needing_two_documents_is_answered_with_both_cited(corpus: Platform) -> None:
    response = ask(corpus, "How many more employees does Orvane Systems have than Kestrel Biotech?",
                   collection="firms")
    assert response.status_code == 200, response.text
    body = response.json()
    trace = trace_of(corpus, body["trace_id"])
    plan = trace["plan"]["steps"]
    searches = [s for s in plan if s["tool"] == "search"]
    assert len(searches) == 3  # the question, then each company
    extracts = [s for s in trace["steps"] if s["tool"] == "extract_value"]
    assert sorted(s["output"]["value"] for s in extracts) == ["1240", "385"]
    cited_sources = {c["text"].split(" ")[0] for c in body["citations"]}
    assert cited_sources == {"Orvane", "Kestrel"}
    # the model writes the arithmetic; whatever it wrote, the calculator computed it exactly,
    # and the answer is the voted result of those computations
    calcs = [s for s in trace["steps"] if s["tool"] == "calculator" and s["status"] == "ok"]
    # shown, or withheld for low confidence (then kept in `withheld`): either way the calculator's result
    given = body["withheld"] if body["abstained"] else body["answer"]
    assert calcs and given and given.startswith(calcs[0]["output"]["value"]), body
    # the confidence is the assessment's probability, and the decision is the one its threshold gives
    assessment = body["assessment"]
    assert body["confidence"] == pytest.approx(float(assessment["probability"]))
    assert body["abstained"] == (assessment["probability"] < assessment["threshold"])


def test_independent_steps_run_concurrently(corpus: Platform) -> None:
    body = ask(corpus, "How many more employees does Orvane Systems have than Kestrel Biotech?",
               collection="firms").json()
    steps = trace_of(corpus, body["trace_id"])["steps"]
    searches = [s for s in steps if s["tool"] == "search"]
    # all three searches depend on nothing, so each started before any of them finished
    import datetime as dt

    starts = [dt.datetime.fromisoformat(s["started_at"]) for s in searches]
    ends = [start + dt.timedelta(milliseconds=s["latency_ms"]) for start, s in zip(starts, searches, strict=True)]
    assert max(starts) < min(ends)


def test_retrieval_answer_cites_chunks_and_marks_unsupported_claims(corpus: Platform) -> None:
    body = ask(corpus, "Which company makes the Lumen-7 sensor?", collection="firms").json()
    trace = trace_of(corpus, body["trace_id"])
    assert [s["tool"] for s in trace["plan"]["steps"]].count("synthesize") == 3
    verify = next(s for s in trace["steps"] if s["tool"] == "verify")
    given = body["withheld"] if body["abstained"] else body["answer"]
    for claim in verify["output"]["claims"]:
        if not claim["supported"]:
            assert f"{claim['text']} [unsupported]" in given, (claim, body)
    chunk_ids = {c["chunk_id"] for c in body["citations"]}
    searched = {p["chunk_id"] for s in trace["steps"] if s["tool"] == "search" for p in s["output"]["passages"]}
    assert chunk_ids <= searched


def test_streaming_emits_plan_steps_and_answer_in_order(corpus: Platform) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.Client(base_url=corpus.url, headers=auth(corpus.admin_key), timeout=300) as client, \
            client.stream("POST", ASK + "/stream", json={"question": "What is 2^10 - 24?"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind:
                events.append((kind, json.loads(line[6:])))
    kinds = [k for k, _ in events]
    assert kinds[0] == "trace" and kinds[1] == "step" and kinds[-1] == "answer"
    assert "plan" in kinds and kinds.count("step") >= 3  # plan, calculator, verify
    assert "1000" in events[-1][1]["answer"]


def test_replay_at_temperature_zero_reproduces_the_trace(corpus: Platform) -> None:
    body = ask(corpus, "How many more employees does Orvane Systems have than Kestrel Biotech?",
               collection="firms", options={"samples": 2}).json()
    with httpx.Client(base_url=corpus.url, headers=auth(corpus.admin_key), timeout=300) as client:
        replay = client.post(f"/api/reasoning/v1/traces/{body['trace_id']}/replay")
    assert replay.status_code == 200, replay.text
    result = replay.json()
    assert result["reproduced"] is True, result["differences"]
    assert result["replay_of"] == body["trace_id"] and result["trace_id"] != body["trace_id"]
    assert trace_of(corpus, result["trace_id"])["replay_of"] == body["trace_id"]


def test_a_failing_tool_is_a_recorded_error_step_not_a_crash(corpus: Platform) -> None:
    response = ask(corpus, "What is 10 / 0?")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["abstained"] is True and "division by zero" in body["reason"]
    step = next(s for s in trace_of(corpus, body["trace_id"])["steps"] if s["tool"] == "calculator")
    assert step["status"] == "error" and step["error"] == "division by zero"


def test_unknown_collection_is_refused_with_the_known_ones(corpus: Platform) -> None:
    response = ask(corpus, "Who makes sensors?", collection="nosuch")
    assert response.status_code == 404
    assert "unknown collection 'nosuch'" in response.json()["detail"] and "firms" in response.json()["detail"]


def test_exhausted_budget_is_a_clear_error_and_the_trace_is_kept(corpus: Platform) -> None:
    response = ask(corpus, "How many more employees does Orvane Systems have than Kestrel Biotech?",
                   collection="firms", options={"budget": {"max_steps": 2}})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "budget_exhausted" and "step budget of 2" in problem["detail"]
    trace = trace_of(corpus, problem["trace_id"])
    assert trace["status"] == "exhausted"
    assert any(s["status"] == "skipped" and "budget" in s["error"] for s in trace["steps"])


def test_budget_above_policy_is_capped(corpus: Platform) -> None:
    body = ask(corpus, "What is 3 + 4?", options={"budget": {"max_steps": 1000, "max_tokens": 10_000_000}}).json()
    assert body["budget"]["max_steps"] == 64 and body["budget"]["max_tokens"] == 50_000


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"question": "   "}, 422, "question is empty"),
    ({"question": "x" * 4001}, 422, "limit is 4000"),
    ({}, 422, "question: Field required"),
    ({"question": "hi", "options": {"temperature": 9}}, 422, "options.temperature"),
    ({"question": "hi", "options": {"budget": {"max_steps": 0}}}, 422, "options.budget.max_steps"),
    ({"question": "hi", "options": {"sampels": 3}}, 422, "options.sampels: Extra inputs are not permitted"),
    ({"question": "hi", "collection": "Bad Name"}, 422, "collection names are"),
])
def test_bad_input_is_refused_clearly(corpus: Platform, body: dict[str, Any], status: int, fragment: str) -> None:
    with httpx.Client(base_url=corpus.url, headers=auth(corpus.admin_key)) as client:
        response = client.post(ASK, json=body)
        streamed = client.post(ASK + "/stream", json=body)
    assert response.status_code == status and fragment in response.json()["detail"]
    assert streamed.status_code == status


def test_collection_outside_the_key_scope_is_forbidden(corpus: Platform) -> None:
    scoped = asyncio.run(create_key(corpus.backends, "user", ["hr"]))
    with httpx.Client(base_url=corpus.url, headers=auth(scoped)) as client:
        response = client.post(ASK, json={"question": "hi", "collection": "firms"})
    assert response.status_code == 403 and "firms" in response.json()["detail"]


def test_traces_are_private_to_their_owner(corpus: Platform) -> None:
    other = asyncio.run(create_key(corpus.backends, "user"))
    third = asyncio.run(create_key(corpus.backends, "user"))
    with httpx.Client(base_url=corpus.url, timeout=120) as client:
        asked = client.post(ASK, json={"question": "What is 6 * 7?"}, headers=auth(other)).json()
        url = f"/api/reasoning/v1/traces/{asked['trace_id']}"
        assert client.get(url, headers=auth(third)).status_code == 404
        assert client.get(url, headers=auth(other)).status_code == 200
        assert client.get(url, headers=auth(corpus.admin_key)).status_code == 200


def test_routes_can_be_read_and_only_known_models_set(corpus: Platform) -> None:
    user = asyncio.run(create_key(corpus.backends, "user"))
    with httpx.Client(base_url=corpus.url, headers=auth(corpus.admin_key)) as client:
        routes = client.get("/api/reasoning/v1/routes").json()
        assert set(routes["routes"]) == {"plan", "extract", "synthesize", "verify"}
        model = routes["models"][0]
        assert client.put("/api/reasoning/v1/routes", json={"routes": {"synthesize": model}}).status_code == 200
        bad = client.put("/api/reasoning/v1/routes", json={"routes": {"synthesize": "gpt-9"}})
        assert bad.status_code == 422 and "not available" in bad.json()["detail"]
        kind = client.put("/api/reasoning/v1/routes", json={"routes": {"dream": model}})
        assert kind.status_code == 422 and "unknown step kind" in kind.json()["detail"]
        assert client.put("/api/reasoning/v1/routes", json={"routes": {"synthesize": model}},
                          headers=auth(user)).status_code == 403


def test_which_of_two_is_answered_with_a_name_from_both_documents(corpus: Platform) -> None:
    body = ask(corpus, "Which company has more employees, Kestrel Biotech or Orvane Systems?",
               collection="firms").json()
    assert body["answer"].startswith("Orvane Systems.") and fully_supported(body)
    assert {c["text"].split(" ")[0] for c in body["citations"]} == {"Orvane", "Kestrel"}
    compare = next(s for s in trace_of(corpus, body["trace_id"])["steps"] if s["tool"] == "compare")
    assert compare["input"]["values"] == {"Kestrel Biotech": "385", "Orvane Systems": "1240"}


def test_a_client_that_leaves_mid_stream_loses_nothing(corpus: Platform) -> None:
    import time

    question = "How many employees do Orvane Systems and Kestrel Biotech have in total?"
    with httpx.Client(base_url=corpus.url, headers=auth(corpus.admin_key), timeout=300) as client, \
            client.stream("POST", ASK + "/stream", json={"question": question, "collection": "firms"}) as response:
        first = next(line for line in response.iter_lines() if line.startswith("data: "))
        trace_id = json.loads(first[6:])["trace_id"]
    deadline = time.monotonic() + 120
    while (trace := trace_of(corpus, trace_id))["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert trace["status"] == "answered" and trace["answer"].startswith("1625")


def test_each_model_step_names_the_model_and_the_digest_of_its_weights(corpus: Platform) -> None:
    from sutazai.lib.models.manifest import load_manifest

    body = ask(corpus, "How many people does Kestrel Biotech employ?", collection="firms").json()
    steps = trace_of(corpus, body["trace_id"])["steps"]
    served = [s for s in steps if s["tool"] == "extract_value" and s["status"] == "ok"]
    smollm2 = load_manifest().get("smollm2-135m")
    assert served and all(s["model"] == "SmolLM2-135M-Instruct.Q4_1" for s in served)
    assert {s["model_digest"] for s in served} == {smollm2.sha256}  # the exact file the manifest names
    assert all(s["model_digest"] is None for s in steps if s["tool"] in {"search", "calculator", "verify"})
