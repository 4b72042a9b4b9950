"""Users, groups and grants over HTTP against real PostgreSQL and Redis: password sign-in (Argon2),
per-collection roles through groups, API keys never wider than their user, access that ends at
once when a grant is withdrawn, password change, lockout, and nobody can remove the last admin."""

import asyncio
import uuid

import httpx
import psycopg
import pytest

from tests.integration.conftest import Platform, fresh_database

PASSWORD = "correct horse battery staple"


def auth(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def sign_in(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/identity/v1/sessions", json={"username": username, "password": password})


@pytest.fixture
def names() -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    return {"alice": f"alice-{tag}", "bob": f"bob-{tag}", "group": f"analysts-{tag}", "fin": f"fin-{tag}",
            "hr": f"hr-{tag}", "other": f"other-{tag}"}


def test_users_groups_grants_and_keys(platform: Platform, names: dict[str, str]) -> None:
    alice, bob, group, fin, hr, other = (names[k] for k in ("alice", "bob", "group", "fin", "hr", "other"))
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=30) as admin:
        created = admin.post("/api/identity/v1/users", json={"username": alice.upper(), "password": PASSWORD,
                                                             "display_name": "Alice"})
        assert created.status_code == 201, created.text
        assert created.json()["username"] == alice and created.json()["has_password"]
        assert admin.post("/api/identity/v1/users", json={"username": alice, "password": PASSWORD}).status_code == 409
        weak = admin.post("/api/identity/v1/users", json={"username": bob, "password": "short"})
        assert weak.status_code == 422 and "at least 12 characters" in weak.json()["detail"]
        assert admin.post("/api/identity/v1/users", json={"username": bob, "password": PASSWORD}).status_code == 201
        assert admin.post("/api/identity/v1/groups", json={"name": group}).status_code == 201
        assert admin.put(f"/api/identity/v1/groups/{group}/members/{alice}").status_code == 204
        assert admin.put("/api/identity/v1/grants", json={"group": group, "collection": fin}).status_code == 204
        assert admin.put("/api/identity/v1/grants", json={"user": alice, "collection": hr,
                                                          "role": "admin"}).status_code == 204

    with psycopg.connect(platform.backends.postgres.dsn()) as conn:
        stored = conn.execute("SELECT password_hash FROM identity.users WHERE username = %s", (alice,)).fetchone()
    assert stored is not None and stored[0].startswith("$argon2id$") and PASSWORD not in stored[0]

    with httpx.Client(base_url=platform.url, timeout=30) as client:
        wrong = sign_in(client, alice, "not the password at all")
        unknown = sign_in(client, f"nobody-{uuid.uuid4().hex[:6]}")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["detail"] == unknown.json()["detail"]  # no hint whether the user exists
        session = sign_in(client, alice)
        assert session.status_code == 200, session.text
        token = session.json()["access_token"]
        who = client.get("/api/identity/v1/whoami", headers=auth(token)).json()
        assert who["subject"] == f"user:{alice}" and who["grants"] == {fin: "user", hr: "admin"}
        # the role holds on every service: search in fin, not in another collection
        assert client.get("/api/knowledge/v1/search", params={"q": "x", "collection": fin},
                          headers=auth(token)).status_code == 200
        assert client.get("/api/knowledge/v1/search", params={"q": "x", "collection": other},
                          headers=auth(token)).status_code == 403

        # keys: narrower than the user, never wider
        narrow = client.post("/api/identity/v1/keys", json={"name": "hr bot", "role": "admin",
                                                            "collections": [hr]}, headers=auth(token))
        assert narrow.status_code == 201, narrow.text
        wider = client.post("/api/identity/v1/keys", json={"name": "x", "role": "admin", "collections": [fin]},
                            headers=auth(token))
        assert wider.status_code == 403 and "never wider" in wider.json()["detail"]
        everything = client.post("/api/identity/v1/keys", json={"name": "x", "role": "admin"}, headers=auth(token))
        assert everything.status_code == 201  # naming no collection: whatever its user holds, never more
        assert client.get("/api/identity/v1/whoami", headers=auth(everything.json()["api_key"])).json()["grants"] == {
            fin: "user", hr: "admin"}
        broad = client.post("/api/identity/v1/keys", json={"name": "all mine"}, headers=auth(token))
        assert broad.status_code == 201, broad.text
        broad_key = broad.json()["api_key"]
        assert client.get("/api/identity/v1/whoami", headers=auth(broad_key)).json()["grants"] == {
            fin: "user", hr: "user"}
        mine = {k["key_id"] for k in client.get("/api/identity/v1/keys", headers=auth(token)).json()}
        assert mine == {narrow.json()["key_id"], broad.json()["key_id"], everything.json()["key_id"]}

        # a per-collection admin grants on its collection only
        assert client.put("/api/identity/v1/grants", json={"user": bob, "collection": hr},
                          headers=auth(token)).status_code == 204
        assert client.put("/api/identity/v1/grants", json={"user": bob, "collection": fin},
                          headers=auth(token)).status_code == 403
        assert client.put("/api/identity/v1/grants", json={"user": bob, "collection": "*", "role": "admin"},
                          headers=auth(token)).status_code == 403
        assert client.post("/api/identity/v1/users", json={"username": "mallory-x", "password": PASSWORD},
                           headers=auth(token)).status_code == 403
        assert {g["grantee"] for g in client.get("/api/identity/v1/grants", headers=auth(token)).json()} == {
            alice, bob}  # only the grants on hr

        # leaving the group ends the access through it at once: session and key alike
        with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=30) as admin:
            assert admin.delete(f"/api/identity/v1/groups/{group}/members/{alice}").status_code == 204
        assert client.get("/api/knowledge/v1/search", params={"q": "x", "collection": fin},
                          headers=auth(token)).status_code == 403
        assert client.get("/api/identity/v1/whoami", headers=auth(broad_key)).json()["grants"] == {hr: "user"}

        # disabling the user stops its session and keys at once
        with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=30) as admin:
            assert admin.patch(f"/api/identity/v1/users/{alice}", json={"disabled": True}).status_code == 204
            for credential in (token, broad_key):
                gone = client.get("/api/identity/v1/whoami", headers=auth(credential))
                assert gone.status_code == 401 and "disabled" in gone.json()["detail"]
            assert sign_in(client, alice).status_code == 401
            assert admin.patch(f"/api/identity/v1/users/{alice}", json={"disabled": False}).status_code == 204
            actions = {e["action"] for e in admin.get("/api/identity/v1/audit", params={"limit": 200}).json()}
        assert {"user.create", "group.create", "group.add_member", "grant.set", "user.sign_in",
                "user.sign_in_failed", "group.remove_member", "user.disable", "user.enable"} <= actions


def test_password_change_ends_other_sessions(platform: Platform, names: dict[str, str]) -> None:
    user = names["alice"]
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        assert client.post("/api/identity/v1/users", json={"username": user, "password": PASSWORD},
                           headers=auth(platform.admin_key)).status_code == 201
        first, second = sign_in(client, user).json()["access_token"], sign_in(client, user).json()["access_token"]
        wrong = client.put("/api/identity/v1/password", json={"current_password": "nope", "new_password": "x" * 20},
                           headers=auth(first))
        assert wrong.status_code == 403
        changed = client.put("/api/identity/v1/password", headers=auth(first),
                             json={"current_password": PASSWORD, "new_password": "a brand new passphrase"})
        assert changed.status_code == 200, changed.text
        fresh = changed.json()["access_token"]
        assert client.get("/api/identity/v1/whoami", headers=auth(fresh)).status_code == 200
        for old in (first, second):
            ended = client.get("/api/identity/v1/whoami", headers=auth(old))
            assert ended.status_code == 401 and "sign in again" in ended.json()["detail"]
        assert sign_in(client, user).status_code == 401
        assert sign_in(client, user, "a brand new passphrase").status_code == 200
        by_key = client.put("/api/identity/v1/password", headers=auth(platform.admin_key),
                            json={"current_password": "a", "new_password": "b" * 20})
        assert by_key.status_code == 422 and "only a user" in by_key.json()["detail"]


def test_lockout_after_repeated_failures(platform: Platform, names: dict[str, str]) -> None:
    user = names["bob"]
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        assert client.post("/api/identity/v1/users", json={"username": user, "password": PASSWORD},
                           headers=auth(platform.admin_key)).status_code == 201
        answers = [sign_in(client, user, f"guess number {i}").status_code for i in range(5)]
        assert answers == [401, 401, 401, 401, 423]
        locked = sign_in(client, user)  # even the right password, while locked
        assert locked.status_code == 423 and locked.json()["code"] == "account_locked"
        assert "locked after 5 failed sign-ins" in locked.json()["detail"] and "unlock" in locked.json()["detail"]
        assert int(locked.headers["retry-after"]) > 0
        assert client.patch(f"/api/identity/v1/users/{user}", json={"unlock": True},
                            headers=auth(platform.admin_key)).status_code == 204
        assert sign_in(client, user).status_code == 200


def test_nobody_removes_the_last_administrator(platform: Platform) -> None:
    """On a database of its own: one user administers every collection and no operator key exists."""
    from sutazai.identity.accounts import Accounts
    from sutazai.identity.store import MIGRATIONS, SCHEMA
    from sutazai.lib import migrations
    from sutazai.lib.access import Role
    from sutazai.lib.db import Database
    from sutazai.lib.errors import Conflict

    dsn = fresh_database(platform.backends, "lastadmin")
    migrations.upgrade(dsn=dsn, schema=SCHEMA, script_location=MIGRATIONS)

    async def scenario() -> None:
        db = Database(dsn, max_size=2)
        await db.open(timeout=15)
        try:
            accounts = Accounts(db=db)
            await accounts.create_user(username="root", password=PASSWORD, actor="test")
            await accounts.create_user(username="second", password=PASSWORD, actor="test")
            async with db.connection() as conn:
                root = await accounts.user_principal(conn, (await accounts.list_users())[0]["user_id"],
                                                     credential="token")
            from sutazai.identity.bootstrap import OPERATOR

            await accounts.grant(by=OPERATOR, user="root", group=None, collection="*", role=Role.admin)
            for change in (accounts.revoke_grant(by=OPERATOR, user="root", group=None, collection="*"),
                           accounts.set_enabled(username="root", enabled=False, actor="test"),
                           accounts.delete_user(username="root", actor="test")):
                with pytest.raises(Conflict, match="lock everyone out"):
                    await change
            await accounts.grant(by=OPERATOR, user="second", group=None, collection="*", role=Role.admin)
            await accounts.revoke_grant(by=OPERATOR, user="root", group=None, collection="*")
            assert root.subject == "user:root"
        finally:
            await db.close()

    asyncio.run(scenario())
