"""While Redis is down, requests get a 503 with Retry-After or succeed where they can (an ask is
answered and its trace stored; only the monitors' event is lost), never a 500; an upload accepted
during the outage is kept in PostgreSQL and indexed once Redis is back (the review saw 500s for
asks and uploads that had in fact been saved)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from sutazai.runtime.processes import free_port
from tests.integration.conftest import Backends, build_platform_app, create_key
from tests.integration.knowledge_helpers import auth, wait_for_job
from tests.servers import ServerThread, running_redis


def test_a_redis_outage_is_a_503_never_a_500_and_loses_no_upload(backends: Backends, tmp_path: Path) -> None:
    admin = asyncio.run(create_key(backends, "admin"))
    with running_redis(tmp_path) as redis:
        port = free_port()
        app = build_platform_app(backends, port, redis_url=redis.url(),
                                 knowledge_overrides={"graph_extraction": False, "requeue_after_seconds": 1})
        with ServerThread(app, port=port) as server, httpx.Client(base_url=server.url, headers=auth(admin),
                                                                 timeout=120) as client:
            redis.stop()
            outcomes = {
                "ask": client.post("/api/reasoning/v1/ask", json={"question": "What is 19 + 23?"}),
                "upload": client.post("/api/knowledge/v1/documents", json={
                    "text": "The lighthouse keeper logged every passing ship.", "source": "outage.txt"}),
                "search": client.get("/api/knowledge/v1/search", params={"q": "lighthouse"}),
            }
            for name, response in outcomes.items():
                assert response.status_code < 500 or (response.status_code == 503
                                                      and "retry-after" in response.headers), (name, response.text)
            assert outcomes["ask"].status_code == 200, outcomes["ask"].text  # answered; only the event waits
            upload = outcomes["upload"]
            assert upload.status_code == 202, upload.text  # saved in PostgreSQL, so accepted
            redis.start()
            if upload.status_code == 202:  # acknowledged: it must be indexed once Redis is back
                assert wait_for_job(client, upload.json()["job"]["id"], timeout=120)["state"] == "done"
