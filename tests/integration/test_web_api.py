"""The web service over HTTP: the UI and every asset it loads are served from this origin under
a strict Content-Security-Policy; sign-in turns an API key into an HttpOnly cookie; a cookie
alone never changes anything without the CSRF header; feedback lands in the learning schema."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.integration.conftest import Platform, create_key
from tests.integration.knowledge_helpers import auth

SESSION = "/web/v1/session"
FEEDBACK = "/api/learning/v1/feedback"


def asked(platform: Platform, key: str) -> str:
    """The trace id of a quick question asked with `key` (feedback needs a trace one may read)."""
    response = httpx.post(f"{platform.url}/api/reasoning/v1/ask", headers=auth(key), timeout=120,
                          json={"question": "What is 6 * 7?"})
    assert response.status_code == 200, response.text
    return str(response.json()["trace_id"])


@contextmanager
def signed_in(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        response = client.post(SESSION, json={"api_key": platform.admin_key})
        assert response.status_code == 200, response.text
        yield client


def test_the_ui_and_every_asset_it_loads_come_from_this_server(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert page.headers["x-frame-options"] == "DENY"
        pending = [m for m in re.findall(r'(?:src|href)="(/[^"]+)"', page.text)]
        seen: set[str] = set()
        while pending:  # follow the ES module imports of every script
            path = pending.pop()
            if path in seen:
                continue
            seen.add(path)
            asset = client.get(path)
            assert asset.status_code == 200, path
            if path.endswith(".js"):
                assert "javascript" in asset.headers["content-type"], path
                base = path.rsplit("/", 1)[0]
                static = re.findall(r"""^import [^;]*? from '(\.{1,2}/[^']+)';""", asset.text, re.M)
                for spec in static + re.findall(r"""import\('(\.{1,2}/[^']+)'\)""", asset.text):
                    pending.append(str(httpx.URL(f"http://x{base}/").join(spec).path))
        assert {"/assets/js/app.js", "/assets/js/pages/graph.js", "/assets/vendor/cytoscape.esm.min.js"} <= seen
        assert client.get("/assets/js/missing.js").status_code == 404
        packed = client.get("/assets/vendor/cytoscape.esm.min.js", headers={"Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip"
        index = client.get("/api").json()
        assert set(index["services"]) >= {"identity", "reasoning", "knowledge", "learning", "metacognition"}
        assert client.get("/healthz").json()["status"] == "ok"


def test_sign_in_sets_an_httponly_cookie_that_works_as_a_credential(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        response = client.post(SESSION, json={"api_key": platform.admin_key})
        assert response.status_code == 200
        assert response.json()["role"] == "admin" and response.json()["expires_in"] > 0
        cookie = response.headers["set-cookie"]
        assert "sutazai_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Path=/" in cookie and "Max-Age=" in cookie and "Secure" not in cookie
        assert platform.admin_key not in cookie  # the cookie holds a short-lived token, never the key
        assert response.headers["cache-control"] == "no-store"
        assert client.get(SESSION).json()["signed_in"] is True
        collections = client.get("/api/knowledge/v1/collections")  # the cookie alone authenticates a read
        assert collections.status_code == 200
        assert client.delete(SESSION, headers={"X-SutazAI-CSRF": "1"}).status_code == 204
        assert client.get(SESSION).json() == {"signed_in": False, "subject": None, "user": False, "role": None,
                                              "collections": [], "expires_in": None}
        assert client.get("/api/knowledge/v1/collections").status_code == 401


def test_the_cookie_is_secure_behind_https(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        response = client.post(SESSION, json={"api_key": platform.admin_key},
                               headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in response.headers["set-cookie"]


def test_sign_in_refuses_bad_keys_with_messages_a_person_can_act_on(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        wrong_shape = client.post(SESSION, json={"api_key": "letmein"})
        assert wrong_shape.status_code == 422 and "szk_" in wrong_shape.json()["detail"]
        revoked_like = client.post(SESSION, json={"api_key": platform.admin_key[:-6] + "A" * 6})
        assert revoked_like.status_code == 401 and "sutazai_session" not in revoked_like.headers.get("set-cookie", "")
        assert client.post(SESSION, json={}).status_code == 422
        assert client.post(SESSION, content=b"api_key=x",
                           headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 422
        client.cookies.set("sutazai_session", "not.a.token")
        ended = client.get(SESSION)
        assert ended.json()["signed_in"] is False and 'sutazai_session=""' in ended.headers["set-cookie"]


def test_a_cookie_alone_cannot_change_anything(platform: Platform) -> None:
    with signed_in(platform) as client:
        body = {"trace_id": asked(platform, platform.admin_key), "rating": "up"}
        refused = client.post(FEEDBACK, json=body)
        assert refused.status_code == 403 and "X-SutazAI-CSRF" in refused.json()["detail"]
        assert client.delete("/api/knowledge/v1/documents/" + str(uuid.uuid4())).status_code == 403
        assert client.post(FEEDBACK, json=body, headers={"X-SutazAI-CSRF": "1"}).status_code == 201
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=30) as client:
        assert client.post(FEEDBACK, json={**body, "rating": "down"}).status_code == 200  # a key needs no header


def test_feedback_is_one_verdict_per_person_and_answer(platform: Platform) -> None:
    user_key = asyncio.run(create_key(platform.backends, "user"))
    trace = asked(platform, user_key)
    with httpx.Client(base_url=platform.url, headers=auth(user_key), timeout=30) as user:
        first = user.post(FEEDBACK, json={"trace_id": trace, "rating": "up", "comment": "  right  "})
        assert first.status_code == 201 and first.json()["comment"] == "right"
        second = user.post(FEEDBACK, json={"trace_id": trace, "rating": "down", "comment": "wrong year"})
        assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
        mine = user.get(FEEDBACK, params={"trace_id": trace}).json()
        assert [(f["rating"], f["comment"]) for f in mine] == [("down", "wrong year")]
        other_trace = asked(platform, platform.admin_key)
        with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=30) as admin:
            admin.post(FEEDBACK, json={"trace_id": other_trace, "rating": "up"})
            assert {f["trace_id"] for f in admin.get(FEEDBACK, params={"limit": 1000}).json()} >= {trace, other_trace}
        assert other_trace not in {f["trace_id"] for f in user.get(FEEDBACK).json()}  # users see only their own


@pytest.mark.parametrize(("body", "field"), [
    ({"trace_id": "not-a-uuid", "rating": "up"}, "trace_id"),
    ({"trace_id": str(uuid.uuid4()), "rating": "5 stars"}, "rating"),
    ({"trace_id": str(uuid.uuid4()), "rating": "up", "comment": "x" * 4001}, "comment"),
    ({"trace_id": str(uuid.uuid4()), "rating": "up", "stars": 5}, "stars"),
])
def test_bad_feedback_is_refused_naming_the_field(platform: Platform, body: dict[str, object], field: str) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=30) as client:
        response = client.post(FEEDBACK, json=body)
        assert response.status_code == 422 and field in response.text


def test_a_value_the_database_refuses_is_a_4xx_and_nothing_is_stored(platform: Platform) -> None:
    """A NUL byte passes request validation but PostgreSQL refuses it: the refusal is
    translated at the database boundary into a 422 that says why, never a 500."""
    trace = asked(platform, platform.admin_key)
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=30) as client:
        response = client.post(FEEDBACK, json={"trace_id": trace, "rating": "up", "comment": "bad\u0000byte"})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_failed" and "NUL" in response.json()["detail"]
        assert client.get(FEEDBACK, params={"trace_id": trace}).json() == []


def test_sign_in_by_user_name_and_change_password(platform: Platform) -> None:
    import uuid

    name, password = f"webuser-{uuid.uuid4().hex[:6]}", "a long enough passphrase"
    created = httpx.post(f"{platform.url}/api/identity/v1/users", json={"username": name, "password": password},
                         headers={"Authorization": f"Bearer {platform.admin_key}"})
    assert created.status_code == 201, created.text
    with httpx.Client(base_url=platform.url) as client:
        missing = client.post(SESSION, json={})
        assert missing.status_code == 422 and "user name and password" in missing.json()["detail"]
        wrong = client.post(SESSION, json={"username": name, "password": "not it at all"})
        assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
        signed = client.post(SESSION, json={"username": name, "password": password})
        assert signed.status_code == 200, signed.text
        assert signed.json()["subject"] == f"user:{name}" and signed.json()["user"] is True
        old_cookie = client.cookies.get("sutazai_session")
        no_csrf = client.put("/web/v1/password", json={"current_password": password, "new_password": "x" * 20})
        assert no_csrf.status_code == 403
        changed = client.put("/web/v1/password", headers={"X-SutazAI-CSRF": "1"},
                             json={"current_password": password, "new_password": "another long passphrase"})
        assert changed.status_code == 200, changed.text
        assert client.get(SESSION).json()["signed_in"] is True  # the renewed cookie works
        assert old_cookie != client.cookies.get("sutazai_session")
    old = httpx.get(f"{platform.url}/api/identity/v1/whoami", headers={"Authorization": f"Bearer {old_cookie}"})
    assert old.status_code == 401
