"""Rate limits on key use and on failed credentials, counted in Redis across services: past the
limit a 429 with Retry-After that says what happened, and nothing else changes."""

from __future__ import annotations

import asyncio
import time

import httpx

from sutazai.lib.ratelimit import WINDOW_SECONDS
from sutazai.runtime.processes import free_port
from tests.integration.conftest import Backends, build_platform_app, create_key
from tests.integration.knowledge_helpers import auth
from tests.servers import ServerThread


def _fresh_window() -> None:
    """Start at the beginning of a counting window, so the counts below share one."""
    left = WINDOW_SECONDS - int(time.time()) % WINDOW_SECONDS
    if left < 20:
        time.sleep(left + 0.5)


def test_past_the_limits_a_429_with_retry_after(backends: Backends) -> None:
    key = asyncio.run(create_key(backends, "user"))
    port = free_port()
    app = build_platform_app(backends, port, common_overrides={"auth_failures_per_minute": 3,
                                                                "key_requests_per_minute": 5})
    with ServerThread(app, port=port) as server:
        _fresh_window()
        with httpx.Client(base_url=server.url, headers=auth(key), timeout=60) as client:
            statuses = [client.get("/api/knowledge/v1/documents").status_code for _ in range(6)]
            assert statuses == [200] * 5 + [429], statuses
            limited = client.get("/api/reasoning/v1/routes")  # another service, the same key: counted together
            assert limited.status_code == 429 and "more than 5 requests" in limited.json()["detail"]
            assert 0 < int(limited.headers["retry-after"]) <= WINDOW_SECONDS
        wrong = "szk_000000000000_" + "x" * 43
        with httpx.Client(base_url=server.url, headers=auth(wrong), timeout=60) as guesser:
            assert [guesser.get("/api/knowledge/v1/documents").status_code for _ in range(3)] == [401] * 3
            blocked = guesser.get("/api/knowledge/v1/documents")
            assert blocked.status_code == 429 and "too many failed credentials" in blocked.json()["detail"]
        other = asyncio.run(create_key(backends, "user"))
        assert httpx.get(f"{server.url}/api/knowledge/v1/documents", headers=auth(other)).status_code == 429
