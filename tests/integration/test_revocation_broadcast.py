"""Revocation reaches every service at once: with a 30 s introspection cache in the services, a
sign-out, a revoked key and a withdrawn grant are refused by another service within a second,
because identity broadcasts them (lib/contracts/identity.py) and each service evicts its cache.
The control: the same key revoked behind identity's back (no broadcast) is still accepted from the
cache, so it is the broadcast, not a cache that never held anything, that made the difference."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest

from sutazai.runtime.processes import free_port
from tests.integration.conftest import Backends, Platform, build_platform_app, create_key
from tests.integration.knowledge_helpers import auth
from tests.servers import ServerThread

PASSWORD = "correct horse battery staple 7"
SEARCH = "/api/knowledge/v1/search"


@pytest.fixture(scope="module")
def cached(backends: Backends) -> Iterator[Platform]:
    """The platform with the services caching identity's answers for 30 s."""
    port = free_port()
    app = build_platform_app(backends, port, common_overrides={"introspection_cache_seconds": 30})
    with ServerThread(app, port=port) as server:
        yield Platform(server.url, backends, asyncio.run(create_key(backends, "admin")))


def refused_within(call: Callable[[], httpx.Response], status: int, seconds: float = 1.0) -> float:
    """How long until `call` answers `status` (at most `seconds`: far inside the cache's 30 s)."""
    started = time.monotonic()
    while (answered := call()).status_code != status:
        assert answered.status_code == 200, answered.text
        assert time.monotonic() - started < seconds, f"still {answered.status_code} after {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_signed_out_token_is_refused_by_another_service_at_once(cached: Platform) -> None:
    collection, name = f"hr-{uuid.uuid4().hex[:6]}", f"ines-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=cached.url, headers=auth(cached.admin_key), timeout=60) as admin:
        assert admin.post("/api/identity/v1/users", json={"username": name, "password": PASSWORD}).status_code == 201
        assert admin.put("/api/identity/v1/grants", json={"user": name, "collection": collection}).status_code == 204
    with httpx.Client(base_url=cached.url, timeout=60) as client:
        token = client.post("/api/identity/v1/sessions", json={"username": name, "password": PASSWORD})
        token_headers = auth(token.json()["access_token"])
        search = lambda: client.get(SEARCH, params={"q": "leave", "collection": collection},  # noqa: E731
                                    headers=token_headers)
        assert search().status_code == 200  # knowledge now holds identity's answer in its cache
        assert client.delete("/api/identity/v1/tokens/current", headers=token_headers).status_code == 204
        refused_within(search, 401)


def test_a_revoked_key_and_a_withdrawn_grant_are_refused_at_once(cached: Platform) -> None:
    collection, name = f"fin-{uuid.uuid4().hex[:6]}", f"omar-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=cached.url, headers=auth(cached.admin_key), timeout=60) as admin:
        made = admin.post("/api/identity/v1/keys", json={"name": "reader", "collections": [collection]})
        key_headers = auth(made.json()["api_key"])
        search = lambda: admin.get(SEARCH, params={"q": "x", "collection": collection},  # noqa: E731
                                   headers=key_headers)
        assert search().status_code == 200
        assert admin.delete(f"/api/identity/v1/keys/{made.json()['key_id']}").status_code == 204
        refused_within(search, 401)

        assert admin.post("/api/identity/v1/users", json={"username": name, "password": PASSWORD}).status_code == 201
        assert admin.put("/api/identity/v1/grants", json={"user": name, "collection": collection}).status_code == 204
        token = admin.post("/api/identity/v1/sessions", json={"username": name, "password": PASSWORD})
        user_headers = auth(token.json()["access_token"])
        in_collection = lambda: admin.get(SEARCH, params={"q": "x", "collection": collection},  # noqa: E731
                                          headers=user_headers)
        assert in_collection().status_code == 200
        withdrawn = admin.delete("/api/identity/v1/grants", params={"user": name, "collection": collection})
        assert withdrawn.status_code == 204
        refused_within(in_collection, 403)


def test_without_a_broadcast_the_cache_still_answers(cached: Platform) -> None:
    """The control: a key revoked in the database directly, which identity does not announce."""
    with httpx.Client(base_url=cached.url, headers=auth(cached.admin_key), timeout=60) as admin:
        made = admin.post("/api/identity/v1/keys", json={"name": "quiet", "collections": ["quiet"]})
        key_headers = auth(made.json()["api_key"])
        search = lambda: admin.get(SEARCH, params={"q": "x", "collection": "quiet"},  # noqa: E731
                                   headers=key_headers)
        assert search().status_code == 200
        with psycopg.connect(cached.backends.postgres.dsn()) as conn:
            conn.execute("UPDATE identity.api_keys SET revoked_at = now() WHERE key_id = %s", (made.json()["key_id"],))
        assert admin.get("/api/identity/v1/whoami", headers=key_headers).status_code == 401  # identity knows
        time.sleep(1.0)  # as long as the broadcast tests allow: the cache alone still accepts it
        assert search().status_code == 200
