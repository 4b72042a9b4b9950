"""Monitors on the real stack: answered questions and ratings reach the metacognition service as
events (Redis Streams, the in-process consumer); drift — the confidences a worse model routed in
would give, injected as `trace.completed` events after a steady reference period — fires an
alert that is stored, listed and exported to Prometheus, and resolves when the answers recover."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import httpx
import redis

from tests.integration.conftest import Platform, create_key
from tests.integration.knowledge_helpers import auth


def publish(platform: Platform, events: list[dict[str, Any]]) -> None:
    """Append events to reasoning's trace stream exactly as the reasoning service does."""
    import json

    client = redis.Redis.from_url(platform.backends.redis.url())
    try:
        for data in events:
            client.xadd("reasoning.traces", {"type": "trace.completed", "data": json.dumps(data)})
    finally:
        client.close()


def observed(platform: Platform, trace_id: str) -> bool:
    import psycopg

    with psycopg.connect(platform.backends.postgres.dsn()) as conn:
        return conn.execute("SELECT 1 FROM metacognition.observations WHERE trace_id = %s",
                            (trace_id,)).fetchone() is not None


def answered(confidence: float, *, abstained: bool = False) -> dict[str, Any]:
    return {"trace_id": str(uuid.uuid4()), "abstained": abstained, "confidence": confidence, "collection": "default",
            "models": ["worse-model"], "empty_retrieval": False,
            "steps": [{"tool": "synthesize", "status": "ok", "latency_ms": 800.0, "model": "worse-model"}]}


def until(check: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)
    return found


def test_a_real_answer_and_a_rating_are_observed(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        asked = admin.post("/api/reasoning/v1/ask", json={"question": "What is 41 * 43?"}).json()
        admin.post("/api/learning/v1/feedback", json={"trace_id": asked["trace_id"], "rating": "down"})

        def seen() -> bool:
            readings = {r["rule"]: r for r in admin.get("/api/metacognition/v1/monitors").json()["readings"]}
            return readings["abstention_rate"]["count"] >= 1 and readings["negative_feedback_rate"]["count"] >= 1

        until(seen)


def test_drift_fires_an_alert_that_is_listed_exported_and_resolved(platform: Platform) -> None:
    rng = random.Random(3)
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as admin:
        steady = [answered(rng.uniform(0.75, 1.0)) for _ in range(200)]
        publish(platform, steady)  # a steady period, pinned as the reference by an admin
        until(lambda: admin.get("/api/metacognition/v1/monitors").json()["readings"][0]["count"] >= 50
              and observed(platform, steady[-1]["trace_id"]))
        pinned = admin.post("/api/metacognition/v1/monitors/reference")
        assert pinned.status_code == 200, pinned.text
        publish(platform, [answered(rng.uniform(0.05, 0.5), abstained=rng.random() < 0.8) for _ in range(50)])

        def firing() -> dict[str, Any] | None:
            """The drift alert once the whole worse window is in (a firing alert is updated as events come)."""
            alerts = admin.get("/api/metacognition/v1/alerts", params={"status": "firing"}).json()
            found = next((a for a in alerts if a["rule"] == "confidence_drift"), None)
            return found if found and found["detail"]["recent_mean"] < 0.4 else None

        alert = until(firing)
        assert alert["value"] > alert["threshold"] and alert["detail"]["ks_p_value"] < 0.001
        assert alert["detail"]["recent_mean"] < alert["detail"]["reference_mean"]
        rules = {a["rule"] for a in admin.get("/api/metacognition/v1/alerts", params={"status": "firing"}).json()}
        assert "abstention_rate" in rules
        metrics = admin.get("/api/metacognition/v1/monitors/prometheus")
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        assert 'sutazai_alert_firing{rule="confidence_drift"} 1.0' in metrics.text
        assert 'sutazai_monitor_threshold{rule="abstention_rate"} 0.5' in metrics.text

        publish(platform, [answered(rng.uniform(0.75, 1.0)) for _ in range(250)])  # the answers recover

        def resolved() -> bool:
            alerts = admin.get("/api/metacognition/v1/alerts").json()
            return any(a["id"] == alert["id"] and a["status"] == "resolved" for a in alerts)

        until(resolved)
        again = admin.get("/api/metacognition/v1/alerts", params={"status": "firing"}).json()
        assert "confidence_drift" not in {a["rule"] for a in again}


def test_monitors_are_for_admins_and_refuse_bad_input(platform: Platform) -> None:
    user_key = asyncio.run(create_key(platform.backends, "user"))
    with httpx.Client(base_url=platform.url, timeout=60) as client:
        for path in ("/api/metacognition/v1/monitors", "/api/metacognition/v1/alerts",
                     "/api/metacognition/v1/monitors/prometheus"):
            assert client.get(path, headers=auth(user_key)).status_code == 403
            assert client.get(path).status_code == 401
        assert client.post("/api/metacognition/v1/monitors/reference", headers=auth(user_key)).status_code == 403
        bad = client.get("/api/metacognition/v1/alerts", headers=auth(platform.admin_key),
                         params={"status": "asleep", "limit": 0})
        assert bad.status_code == 422 and "status" in bad.text
