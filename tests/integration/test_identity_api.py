"""Identity over HTTP against real PostgreSQL and Redis."""

import asyncio

import httpx
import psycopg

from tests.integration.conftest import Platform, create_key

PUBLIC_SIGN_IN = {"/api/identity/v1/sessions", "/api/identity/v1/sso/providers", "/api/identity/v1/sso/oidc/authorize",
                  "/api/identity/v1/sso/oidc/callback"}
"""The only operations without a credential besides the probes: they are how one gets a credential."""


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_every_endpoint_but_probes_needs_a_credential(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url) as client:
        for path in ("/api/identity/v1/whoami", "/api/identity/v1/keys", "/api/identity/v1/audit"):
            response = client.get(path)
            assert response.status_code == 401, path
            assert response.json()["code"] == "unauthenticated"
        for prefix in ("identity", "reasoning", "knowledge", "learning", "metacognition"):
            assert client.get(f"/api/{prefix}/healthz").status_code == 200
            assert client.get(f"/api/{prefix}/openapi.json").status_code == 200


def test_admin_creates_lists_and_revokes_keys(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key)) as client:
        created = client.post("/api/identity/v1/keys", json={"name": "ci bot", "role": "user",
                                                            "collections": ["hr"]})
        assert created.status_code == 201, created.text
        body = created.json()
        user_key, key_id = body["api_key"], body["key_id"]
        who = client.get("/api/identity/v1/whoami", headers=auth(user_key)).json()
        assert who == {"subject": f"key:{key_id}", "role": "user", "credential": "api_key",
                       "key_id": key_id, "collections": ["hr"], "user_id": None, "grants": {"hr": "user"}}
        assert key_id in [k["key_id"] for k in client.get("/api/identity/v1/keys").json()]
        assert all("api_key" not in k and "secret_hash" not in k for k in client.get("/api/identity/v1/keys").json())
        forbidden = client.post("/api/identity/v1/keys", json={"name": "x"}, headers=auth(user_key))
        assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
        assert client.delete(f"/api/identity/v1/keys/{key_id}").status_code == 204
        revoked = client.get("/api/identity/v1/whoami", headers=auth(user_key))
        assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
        # other services see the revocation too (they ask identity)
        assert client.get("/api/reasoning/v1/traces/00000000-0000-0000-0000-000000000000",
                          headers=auth(user_key)).status_code == 401
        assert client.delete(f"/api/identity/v1/keys/{key_id}").json()["code"] == "not_found"
        actions = [e["action"] for e in client.get("/api/identity/v1/audit").json()]
        assert "api_key.create" in actions and "api_key.revoke" in actions


def test_keys_are_stored_hashed(platform: Platform) -> None:
    key = asyncio.run(create_key(platform.backends, "user"))
    secret = key.split("_", 2)[2]
    with psycopg.connect(platform.backends.postgres.dsn()) as conn:
        rows = conn.execute("SELECT secret_hash FROM identity.api_keys").fetchall()
    assert rows and all(secret not in row[0] for row in rows)


def test_bearer_token_works_across_services(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url) as client:
        token = client.post("/api/identity/v1/tokens", headers=auth(platform.admin_key)).json()
        assert token["token_type"] == "bearer" and token["expires_in"] > 0
        who = client.get("/api/identity/v1/whoami", headers=auth(token["access_token"]))
        assert who.json()["credential"] == "token"
        missing = client.get("/api/reasoning/v1/traces/00000000-0000-0000-0000-000000000000",
                             headers=auth(token["access_token"]))
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        forged = token["access_token"][:-4] + "AAAA"
        assert client.get("/api/identity/v1/whoami", headers=auth(forged)).status_code == 401


def test_bad_input_gets_clear_errors(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key)) as client:
        bad_role = client.post("/api/identity/v1/keys", json={"name": "x", "role": "root"})
        assert bad_role.status_code == 422 and bad_role.json()["detail"].startswith("role:")
        bad_col = client.post("/api/identity/v1/keys", json={"name": "x", "collections": ["Bad Name!"]})
        assert bad_col.status_code == 422 and "collection names" in bad_col.json()["detail"]
        wrong_scheme = client.get("/api/identity/v1/whoami", headers={"Authorization": "Basic abc"})
        assert "Bearer" in wrong_scheme.json()["detail"]


def test_openapi_documents_declare_the_bearer_scheme_and_problem_responses(platform: Platform) -> None:
    for prefix in ("/api/identity/v1", "/api/knowledge/v1", "/api/reasoning/v1", "/api/learning/v1",
                   "/api/metacognition/v1"):
        service = prefix.rsplit("/", 1)[0]
        schema = httpx.get(f"{platform.url}{service}/openapi.json", timeout=30).json()
        assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                responses = operation["responses"]
                assert "application/problem+json" in responses["422"]["content"], (path, method)
                if path.endswith(("/healthz", "/readyz", "/metrics")):
                    assert "security" not in operation, path
                elif operation.get("security") == []:
                    assert path in PUBLIC_SIGN_IN, path
                else:
                    assert operation["security"] == [{"bearer": []}], (path, method)
                    assert {"401", "403", "404", "503"} <= set(responses), (path, method)
