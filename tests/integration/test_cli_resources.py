"""`sutazai documents`, `sutazai traces` and `sutazai keys` against the real stack, and what they
say, without a traceback, to a bad argument, a refused key and a stopped stack."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from sutazai.runtime.processes import free_port
from tests.integration.conftest import Platform, create_key
from tests.integration.knowledge_helpers import auth, ingest_text

SUTAZAI = str(Path(sys.executable).with_name("sutazai"))


def cli(platform: Platform, *args: str, key: str | None = None, url: str | None = None,
        stdin: str | None = None, columns: str = "250") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUTAZAI_URL": url or platform.url, "SUTAZAI_API_KEY": key or platform.admin_key,
           "COLUMNS": columns}
    return subprocess.run([SUTAZAI, *args], capture_output=True, text=True, env=env, timeout=300, check=False,
                          input=stdin)


def test_documents_list_show_and_delete(platform: Platform) -> None:
    collection = f"cli-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        made = ingest_text(admin, "The lighthouse at Kestrel Point was built in 1871.", collection=collection,
                           source="lighthouse.txt", graph=False)
    doc_id = made["document"]["id"]
    listed = cli(platform, "documents", "list", "--collection", collection)
    assert listed.returncode == 0 and doc_id in listed.stdout and "lighthouse.txt" in listed.stdout
    assert "1 document" in listed.stdout
    narrow = cli(platform, "documents", "list", "--collection", collection, columns="80")
    assert narrow.returncode == 0 and doc_id in narrow.stdout  # an 80-column terminal still shows the whole id
    shown = cli(platform, "documents", "show", doc_id)
    assert shown.returncode == 0 and "sha256" in shown.stdout and "ready" in shown.stdout
    kept = cli(platform, "documents", "delete", doc_id, stdin="n\n")  # not confirmed: nothing deleted
    assert kept.returncode != 0 and doc_id in cli(platform, "documents", "list", "--collection", collection).stdout
    deleted = cli(platform, "documents", "delete", doc_id, "--yes")
    assert deleted.returncode == 0 and "deleted lighthouse.txt" in deleted.stdout
    gone = cli(platform, "documents", "show", doc_id)
    assert gone.returncode != 0 and "Traceback" not in gone.stderr and gone.stderr.strip()


def test_traces_show_lists_every_step_and_the_answer(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        asked = admin.post("/api/reasoning/v1/ask", json={"question": "What is 12 * 12?"})
    assert asked.status_code == 200, asked.text
    trace = asked.json()["trace_id"]
    shown = cli(platform, "traces", "show", trace)
    assert shown.returncode == 0 and "What is 12 * 12?" in shown.stdout and "calculator" in shown.stdout
    steps = len(httpx.get(f"{platform.url}/api/reasoning/v1/traces/{trace}",
                          headers=auth(platform.admin_key)).json()["steps"])
    assert f"{steps} step{'s' if steps != 1 else ''}" in shown.stdout  # the count tells the truth
    assert f"(the plan and {steps - 1} that ran)" in shown.stdout  # as `sutazai ask` counts them
    assert "144" in shown.stdout
    as_json = cli(platform, "traces", "show", trace, "--json")
    assert as_json.returncode == 0 and '"steps"' in as_json.stdout


def test_keys_list_and_revoke(platform: Platform) -> None:
    spare = asyncio.run(create_key(platform.backends, "user", ["docs"]))
    key_id = spare.split("_")[1]
    listed = cli(platform, "keys", "list")
    assert listed.returncode == 0 and key_id in listed.stdout and spare not in listed.stdout  # never the secret
    revoked = cli(platform, "keys", "revoke", key_id)
    assert revoked.returncode == 0 and f"revoked {key_id}" in revoked.stdout
    assert httpx.get(f"{platform.url}/api/identity/v1/whoami", headers=auth(spare)).status_code == 401
    assert key_id not in cli(platform, "keys", "list").stdout
    again = cli(platform, "keys", "revoke", key_id)
    assert again.returncode != 0 and "Traceback" not in again.stderr and again.stderr.strip()


def test_bad_arguments_refused_keys_and_a_stopped_stack_get_a_sentence_not_a_traceback(platform: Platform) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    user = asyncio.run(create_key(platform.backends, "user", ["docs"]))
    cases = [
        (("documents", "show", "not-an-id"), {}, "is not a document id"),
        (("traces", "show", "nope"), {}, "is not a trace id"),
        (("keys", "revoke", "../../etc"), {}, "is not a key id"),
        (("documents", "list"), {"key": "szk_nope_nope"}, ""),
        (("keys", "revoke", platform.admin_key.split("_")[1]), {"key": user}, ""),  # not theirs to revoke
        (("documents", "list", "--collection", "docs"), {"url": dead}, ""),
        (("traces", "show", str(uuid.uuid4())), {"url": dead}, ""),
        (("keys", "revoke", "abc"), {"url": dead}, ""),
    ]
    for args, where, said in cases:
        done = cli(platform, *args, **where)
        assert done.returncode != 0, (args, done.stdout)
        assert "Traceback" not in done.stderr + done.stdout and done.stderr.strip(), (args, done.stderr)
        assert said in done.stderr, (args, done.stderr)
