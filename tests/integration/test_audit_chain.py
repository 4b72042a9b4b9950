"""The audit log is a hash chain: `sutazai audit verify` reports an entry edited, deleted or
reordered in the database itself, and a head recorded earlier reveals entries cut from the end;
`sutazai audit export` writes JSON lines for a SIEM."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

from sutazai.identity.bootstrap import create_key, verify_audit
from sutazai.lib.access import Role
from tests.integration.conftest import Platform, fresh_database

SUTAZAI = str(Path(sys.executable).parent / "sutazai")


def _cli(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUTAZAI_DATABASE_URL": dsn, "COLUMNS": "200"}
    return subprocess.run([SUTAZAI, "audit", *args], capture_output=True, text=True, env=env, timeout=120,
                          check=False)


def _sql(dsn: str, statement: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)


def test_verify_catches_edits_deletions_reordering_and_truncation(platform: Platform, tmp_path: Path) -> None:
    dsn = fresh_database(platform.backends, "audit")

    async def seed() -> None:
        for n in range(6):
            await create_key(dsn, role=Role.user, name=f"key {n}", collections=[f"c{n}"])

    asyncio.run(seed())
    intact = _cli(dsn, "verify")
    assert intact.returncode == 0, intact.stderr
    assert "intact: 6 entries" in intact.stdout
    head = intact.stdout.split("head ")[1].strip()

    exported = _cli(dsn, "export", "--out", str(tmp_path / "audit.jsonl"))
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [e["action"] for e in lines] == ["api_key.create"] * 6 and lines[-1]["hash"] == head

    _sql(dsn, "UPDATE identity.audit_log SET actor = 'someone else' WHERE id = 2")
    edited = _cli(dsn, "verify")
    assert edited.returncode == 1 and "entry 2" in edited.stderr and "edited" in edited.stderr
    _sql(dsn, "UPDATE identity.audit_log SET actor = 'cli' WHERE id = 2")
    assert _cli(dsn, "verify").returncode == 0  # put back exactly: intact again

    _sql(dsn, "DELETE FROM identity.audit_log WHERE id = 3")
    deleted = _cli(dsn, "verify")
    assert deleted.returncode == 1 and "entry 4" in deleted.stderr and "deleted" in deleted.stderr

    for statement in ("UPDATE identity.audit_log SET id = 40 WHERE id = 4",
                      "UPDATE identity.audit_log SET id = 4 WHERE id = 5",
                      "UPDATE identity.audit_log SET id = 5 WHERE id = 40"):  # entries 4 and 5 swap places
        _sql(dsn, statement)
    moved = asyncio.run(verify_audit(dsn))
    assert not moved.ok and any("entry 4" in p for p in moved.problems)

    _sql(dsn, "DELETE FROM identity.audit_log WHERE id >= 4")
    cut = _cli(dsn, "verify", "--head", head)
    assert cut.returncode == 1 and "removed or replaced" in cut.stderr


def test_every_key_action_is_chained_through_the_api(platform: Platform) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {platform.admin_key}"}
    with httpx.Client(base_url=platform.url, headers=headers, timeout=60) as client:
        made = client.post("/api/identity/v1/keys", json={"name": "chained", "collections": ["x"]}).json()
        assert client.delete(f"/api/identity/v1/keys/{made['key_id']}").status_code == 204
        report = client.get("/api/identity/v1/audit/verify").json()
        assert report["ok"] is True and report["entries"] >= 2, report
        exported = client.get("/api/identity/v1/audit/export")
        assert exported.headers["content-type"].startswith("application/x-ndjson")
        last = json.loads(exported.text.splitlines()[-1])
        assert last["action"] == "api_key.revoke" and last["hash"] == report["head"]


def test_a_model_route_change_is_audited_before_it_takes_effect(platform: Platform) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {platform.admin_key}"}
    with httpx.Client(base_url=platform.url, headers=headers, timeout=60) as client:
        current = client.get("/api/reasoning/v1/routes").json()
        changed = client.put("/api/reasoning/v1/routes", json={"routes": current["routes"]})
        assert changed.status_code == 200, changed.text
        entries = client.get("/api/identity/v1/audit", params={"limit": 20}).json()
        mine = [e for e in entries if e["action"] == "model_routes.update"]
        assert mine and mine[0]["actor"].startswith("key:") and mine[0]["detail"]["routes"] == current["routes"]
        assert client.get("/api/identity/v1/audit/verify").json()["ok"] is True
        forged = client.post("/api/identity/v1/audit", json={"action": "api_key.revoke", "target": "x"})
        assert forged.status_code == 403 and "recorded by identity itself" in forged.json()["detail"]


def test_a_document_deletion_is_audited_as_the_user_who_did_it(platform: Platform) -> None:
    import uuid

    import httpx

    from tests.integration.conftest import create_key

    collection = f"audited-{uuid.uuid4().hex[:6]}"
    user_key = asyncio.run(create_key(platform.backends, "user", [collection]))
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {user_key}"}, timeout=60) as client:
        made = client.post("/api/knowledge/v1/documents", json={"title": "Quarterly note", "text": "Revenue rose.",
                                                                "collection": collection})
        assert made.status_code == 202, made.text
        document_id = made.json()["document"]["id"]
        # a user may record only about collections it may use, never platform-wide
        elsewhere = client.post("/api/identity/v1/audit", json={"action": "document.delete", "collections": []})
        assert elsewhere.status_code == 403
        assert client.delete(f"/api/knowledge/v1/documents/{document_id}").status_code == 204
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {platform.admin_key}"},
                      timeout=60) as admin:
        entries = admin.get("/api/identity/v1/audit", params={"limit": 50}).json()
        deleted = [e for e in entries if e["action"] == "document.delete" and e["target"] == document_id]
        assert deleted and deleted[0]["actor"].startswith("key:") and deleted[0]["collections"] == [collection]
        assert deleted[0]["detail"]["title"] == "Quarterly note"
        assert admin.get("/api/identity/v1/audit/verify").json()["ok"] is True
