"""Regression tests for the hostile review's findings on identity and access (issue 12, point 1):
a scoped admin stays inside its collections, revocation revokes tokens and sessions, the last
unrestricted admin key survives, and feedback needs a trace the caller may read. Each failed on
the code before the fix."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.conftest import Platform, create_key, fresh_database
from tests.integration.knowledge_helpers import auth

QUESTION = "What is 12 + 30?"


def _client(platform: Platform, key: str) -> httpx.Client:
    return httpx.Client(base_url=platform.url, headers=auth(key), timeout=120)


def _ask(client: httpx.Client, collection: str) -> str:
    response = client.post("/api/reasoning/v1/ask", json={"question": QUESTION, "collection": collection})
    assert response.status_code == 200, response.text
    return str(response.json()["trace_id"])


def _new_key(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post("/api/identity/v1/keys", json={"name": "made in a test", **body})


@pytest.fixture
def collections() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"sec-a-{tag}", f"sec-b-{tag}"


@pytest.fixture
def scoped_admin(platform: Platform, collections: tuple[str, str]) -> Iterator[httpx.Client]:
    a, _ = collections
    key = asyncio.run(create_key(platform.backends, "admin", [a]))
    with _client(platform, key) as client:
        yield client


def test_a_scoped_admin_cannot_mint_a_wider_key(platform: Platform, scoped_admin: httpx.Client,
                                                collections: tuple[str, str]) -> None:
    a, b = collections
    unrestricted = _new_key(scoped_admin, role="admin")
    assert unrestricted.status_code == 403, unrestricted.text
    assert "name its collections" in unrestricted.json()["detail"]
    other = _new_key(scoped_admin, role="user", collections=[a, b])
    assert other.status_code == 403 and b in other.json()["detail"], other.text
    inside = _new_key(scoped_admin, role="user", collections=[a])
    assert inside.status_code == 201, inside.text
    assert inside.json()["collections"] == [a]


def test_a_scoped_admin_lists_and_revokes_only_keys_within_its_collections(
        platform: Platform, scoped_admin: httpx.Client, collections: tuple[str, str]) -> None:
    a, b = collections
    with _client(platform, platform.admin_key) as admin:
        in_b = _new_key(admin, role="user", collections=[b]).json()["key_id"]
        in_a = _new_key(admin, role="user", collections=[a]).json()["key_id"]
    listed = {k["key_id"]: k["collections"] for k in scoped_admin.get("/api/identity/v1/keys").json()}
    assert in_a in listed and in_b not in listed
    assert all(cols and set(cols) <= {a} for cols in listed.values()), listed
    assert scoped_admin.delete(f"/api/identity/v1/keys/{in_b}").status_code == 404
    assert scoped_admin.delete(f"/api/identity/v1/keys/{in_a}").status_code == 204


def test_a_scoped_admin_reads_no_trace_feedback_or_audit_of_another_collection(
        platform: Platform, scoped_admin: httpx.Client, collections: tuple[str, str]) -> None:
    a, b = collections
    with _client(platform, platform.admin_key) as admin:
        trace_b = _ask(admin, b)
        trace_a = _ask(admin, a)
        for trace in (trace_a, trace_b):
            given = admin.post("/api/learning/v1/feedback", json={"trace_id": trace, "rating": "up"})
            assert given.status_code == 201, given.text  # the first verdict on a trace this test just made
        _new_key(admin, role="user", collections=[b])
    assert scoped_admin.get(f"/api/reasoning/v1/traces/{trace_b}").status_code == 404
    assert scoped_admin.get(f"/api/reasoning/v1/traces/{trace_a}").status_code == 200
    feedback = scoped_admin.get("/api/learning/v1/feedback", params={"limit": 1000}).json()
    assert {f["trace_id"] for f in feedback} == {trace_a}
    entries = scoped_admin.get("/api/identity/v1/audit", params={"limit": 1000}).json()
    assert entries and all(e["collections"] and set(e["collections"]) <= {a} for e in entries), entries
    assert scoped_admin.put("/api/reasoning/v1/routes", json={"routes": {}}).status_code == 403


def test_tokens_die_with_their_key(platform: Platform) -> None:
    with _client(platform, platform.admin_key) as admin:
        key = _new_key(admin, role="user").json()
    token = httpx.post(f"{platform.url}/api/identity/v1/tokens", headers=auth(key["api_key"])).json()["access_token"]
    with _client(platform, token) as holder:
        assert holder.get("/api/knowledge/v1/documents").status_code == 200
        with _client(platform, platform.admin_key) as admin:
            assert admin.delete(f"/api/identity/v1/keys/{key['key_id']}").status_code == 204
        for method, path in (("GET", "/api/knowledge/v1/documents"), ("GET", "/api/identity/v1/whoami"),
                             ("POST", "/api/identity/v1/tokens"), ("POST", "/api/reasoning/v1/ask")):
            response = holder.request(method, path, json={"question": QUESTION} if method == "POST" else None)
            assert response.status_code == 401, (path, response.text)
        assert "revoked" in holder.get("/api/identity/v1/whoami").json()["detail"]


def test_signing_out_of_the_web_ui_ends_the_session_token(platform: Platform) -> None:
    with _client(platform, platform.admin_key) as admin:
        key = _new_key(admin, role="user").json()["api_key"]
    with httpx.Client(base_url=platform.url, timeout=60) as browser:
        assert browser.post("/web/v1/session", json={"api_key": key}).status_code == 200
        token = browser.cookies["sutazai_session"]
        assert httpx.get(f"{platform.url}/api/knowledge/v1/documents", headers=auth(token)).status_code == 200
        assert browser.delete("/web/v1/session").status_code == 204
    for path in ("/api/identity/v1/whoami", "/api/knowledge/v1/documents"):
        response = httpx.get(f"{platform.url}{path}", headers=auth(token))
        assert response.status_code == 401, response.text
    assert "signed out" in response.json()["detail"]


def test_feedback_needs_a_trace_the_caller_may_read(platform: Platform) -> None:
    with _client(platform, platform.admin_key) as admin:
        alice = _new_key(admin, role="user").json()["api_key"]
        bob = _new_key(admin, role="user").json()["api_key"]
    with _client(platform, alice) as as_alice, _client(platform, bob) as as_bob:
        trace = _ask(as_alice, "default")
        for who, trace_id in ((as_bob, trace), (as_alice, str(uuid.uuid4()))):
            response = who.post("/api/learning/v1/feedback", json={"trace_id": trace_id, "rating": "down"})
            assert response.status_code == 404, response.text
            assert "no trace" in response.json()["detail"]
        own = as_alice.post("/api/learning/v1/feedback", json={"trace_id": trace, "rating": "up"})
        assert own.status_code == 201 and own.json()["collection"] == "default", own.text


def test_the_last_unrestricted_admin_key_cannot_be_revoked(platform: Platform) -> None:
    """Against a database of its own (the shared one holds other tests' admin keys)."""
    from sutazai.identity.bootstrap import create_key as bootstrap_key
    from sutazai.identity.credentials import CredentialBook
    from sutazai.lib.access import Principal, Role
    from sutazai.lib.db import Database
    from sutazai.lib.errors import Conflict

    dsn = fresh_database(platform.backends, "lastadmin")

    async def scenario() -> None:
        first = await bootstrap_key(dsn, role=Role.admin, name="first", collections=[])
        second = await bootstrap_key(dsn, role=Role.admin, name="second", collections=[])
        scoped = await bootstrap_key(dsn, role=Role.admin, name="scoped", collections=["x"])
        db = Database(dsn, max_size=2)
        await db.open(timeout=15)
        try:
            core = CredentialBook(db=db, codec=None)
            me = Principal(subject=f"key:{first.key['key_id']}", role=Role.admin, credential="api_key")
            await core.revoke_key(key_id=second.key["key_id"], by=me)
            await core.revoke_key(key_id=scoped.key["key_id"], by=me)
            with pytest.raises(Conflict, match="lock everyone out"):
                await core.revoke_key(key_id=first.key["key_id"], by=me)
            assert [k["key_id"] for k in await core.list_keys(include_revoked=False, by=me)] == [first.key["key_id"]]
        finally:
            await db.close()

    asyncio.run(scenario())
