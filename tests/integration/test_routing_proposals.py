"""Routing by evidence and proposals, on the real stack with two served model names (the
bundled SmolLM2 as the default and, by its manifest name, as an extra model loaded on first
use): the model registry, evaluation runs with a route of their own, a recommendation from them
(no change: the same weights score the same), and the metacognition service's proposals
(bounds, supersession, who may)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sutazai.runtime.processes import free_port
from tests.integration.conftest import Backends, Platform, build_platform_app, create_key
from tests.integration.knowledge_helpers import auth
from tests.servers import ServerThread

CASES = [{"id": "sky", "question": "What colour is the sky on a clear day?", "answer": ["blue"]},
         {"id": "grass", "question": "What colour is fresh grass?", "answer": ["green"]},
         {"id": "snow", "question": "What colour is snow?", "answer": ["white"]}]
EXTRA = "smollm2-135m"


@pytest.fixture(scope="module")
def two_models(backends: Backends) -> Iterator[Platform]:
    port = free_port()
    # a Redis database of its own: the session platform's learning worker must not take this app's runs
    redis_url = backends.redis.url().rsplit("/", 1)[0] + "/3"
    app = build_platform_app(backends, port, redis_url=redis_url, extra_models=[EXTRA])
    with ServerThread(app, port=port) as server:
        yield Platform(server.url, backends, asyncio.run(create_key(backends, "admin")))


def finished(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    started = client.post("/api/learning/v1/runs", json=body)
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 600
    while (run := client.get(f"/api/learning/v1/runs/{started.json()['run_id']}").json())["status"] != "done":
        assert run["status"] in ("queued", "running") and time.monotonic() < deadline, run
        time.sleep(1)
    return run


def test_registry_runs_per_route_and_a_recommendation(two_models: Platform) -> None:
    suite = f"colours-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=two_models.url, headers=auth(two_models.admin_key), timeout=300) as admin:
        registry = {m["name"]: m for m in admin.get("/api/learning/v1/models").json()}
        assert {"smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"} <= set(registry)
        smol = registry["smollm2-135m"]
        assert smol["served_as"] and "synthesize" in smol["routed_kinds"] and smol["suits"] == ["extract"]
        assert registry["qwen2.5-coder-1.5b"]["served_as"] is None  # in the manifest, not served here
        default = admin.get("/api/reasoning/v1/routes").json()
        assert EXTRA in default["models"] and default["routes"]["synthesize"] != EXTRA

        body = "".join(json.dumps(c) + "\n" for c in CASES).encode()
        assert admin.post(f"/api/learning/v1/suites/{suite}", content=body).status_code == 201
        nothing = admin.post("/api/learning/v1/routing/recommendations", json={"suite": suite})
        assert nothing.status_code == 200 and nothing.json()["recommended"] == {}
        assert "no finished run" in nothing.json()["notes"][0]

        now = finished(admin, {"suite": suite, "label": "routes in force"})
        assert now["config"]["routes_in_force"] == default["routes"]
        routed = finished(admin, {"suite": suite, "label": "extra for synthesis", "routes": {"synthesize": EXTRA}})
        answered = [r for r in admin.get(f"/api/learning/v1/runs/{routed['run_id']}/results").json() if r["trace_id"]]
        assert answered, "no case of the routed run reached the pipeline"
        trace = admin.get(f"/api/reasoning/v1/traces/{answered[0]['trace_id']}").json()
        # every synthesis that reached a model reached the run's own (a sample may fail on invalid output)
        assert {s["model"] for s in trace["steps"] if s["tool"] == "synthesize" and s["status"] == "ok"} == {EXTRA}

        found = admin.post("/api/learning/v1/routing/recommendations",
                           json={"suite": suite, "kinds": ["synthesize"], "propose": True}).json()
        assert found["current"]["synthesize"] == default["routes"]["synthesize"]
        assert [e["model"] for e in found["evidence"]] == [default["routes"]["synthesize"], EXTRA]
        compared = found["evidence"][1]["comparison"]
        assert compared["cases"] == 3 and compared["difference"] == 0  # the same weights answer the same
        assert found["recommended"] == {} and found["proposal"] is None
        assert any("nothing to propose" in n for n in found["notes"])

        # a vote across the two models: each sample names its model, the answer names the ensemble
        both = [default["routes"]["synthesize"], EXTRA]
        voted = admin.post("/api/reasoning/v1/ask", json={"question": CASES[0]["question"],
                                                          "options": {"ensemble": both}})
        assert voted.status_code == 200 and voted.json()["model"] == "+".join(both), voted.text
        voted_trace = admin.get(f"/api/reasoning/v1/traces/{voted.json()['trace_id']}").json()
        samples = sorted((s for s in voted_trace["steps"] if s["tool"] == "synthesize"),
                         key=lambda s: int(s["step_id"][1:]))  # steps are numbered as they finish: plan order
        # a general question (no documents here): one sample from each model of the ensemble, no vote
        assert voted_trace["plan"]["strategy"] == "general" and len(samples) == len(both)
        # each sample that reached its model used the one the ensemble gave it (a sample at 0.7 may fail)
        assert all(s["model"] == model for s, model in zip(samples, both, strict=True) if s["status"] == "ok")
        assert any(s["status"] == "ok" and s["model"] == EXTRA for s in samples)
        for ensemble, status in (([EXTRA], 422), ([EXTRA, "gpt-9"], 422)):
            refused = admin.post("/api/reasoning/v1/ask", json={"question": "Hi?", "options": {"ensemble": ensemble}})
            assert refused.status_code == status, refused.text
        run = admin.post("/api/learning/v1/runs", json={"suite": suite, "ensemble": [EXTRA, "gpt-9"]})
        assert run.status_code == 422 and "unknown model(s) 'gpt-9' in the ensemble" in run.json()["detail"]

        assert admin.post("/api/learning/v1/routing/recommendations", json={"suite": "no-such"}).status_code == 404
        bad_kind = admin.post("/api/learning/v1/routing/recommendations", json={"suite": suite, "kinds": ["dream"]})
        assert bad_kind.status_code == 422
    scoped = asyncio.run(create_key(two_models.backends, "admin", ["somewhere"]))
    refused = httpx.post(f"{two_models.url}/api/learning/v1/routing/recommendations", json={"suite": suite},
                         headers=auth(scoped))
    assert refused.status_code == 403


def test_proposals_bounds_supersession_and_who_may(platform: Platform) -> None:
    url = f"{platform.url}/api/metacognition/v1/proposals"
    with httpx.Client(headers=auth(platform.admin_key), timeout=60) as admin:
        first = admin.post(url, json={"kind": "routes", "change": {"routes": {"synthesize": "m1"}},
                                      "evidence": {"suite": "s"}, "rationale": "better", "source": "learning"})
        assert first.status_code == 201 and first.json()["status"] == "pending", first.text
        second = admin.post(url, json={"kind": "routes", "change": {"routes": {"synthesize": "m2"}}})
        assert second.status_code == 201
        assert admin.get(f"{url}/{first.json()['id']}").json()["status"] == "superseded"
        pending = admin.get(url, params={"status": "pending"}).json()
        ids = [p["id"] for p in pending]
        assert second.json()["id"] in ids and first.json()["id"] not in ids
        for change, kind, message in (({"routes": {"dream": "m"}}, "routes", "unknown step kind"),
                                      ({"routes": {}}, "routes", "and nothing else"),
                                      ({"routes": {"plan": "m"}, "extra": 1}, "routes", "and nothing else"),
                                      ({"abstain_below": 2.0}, "abstain_below", "0 to 0.95"),
                                      ({"depth": 3}, "retrieval", "retrieval proposal changes"),
                                      ({"threshold": 3}, "exemplars", "not accepted yet")):
            refused = admin.post(url, json={"kind": kind, "change": change})
            assert refused.status_code == 422 and message in refused.json()["detail"], (change, refused.text)
        assert admin.get(f"{url}/{uuid.uuid4()}").status_code == 404
    user = asyncio.run(create_key(platform.backends, "user"))
    assert httpx.post(url, json={"kind": "routes", "change": {"routes": {"plan": "m"}}},
                      headers=auth(user)).status_code == 403
    scoped = asyncio.run(create_key(platform.backends, "admin", ["somewhere"]))
    assert httpx.post(url, json={"kind": "routes", "change": {"routes": {"plan": "m"}}},
                      headers=auth(scoped)).status_code == 403
