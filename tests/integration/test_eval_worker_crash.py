"""Kill the learning worker in the middle of an evaluation run and start a new one: the run
finishes, every case finished before the kill is kept as it was (not asked again), and no case
is recorded twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from sutazai.runtime.processes import free_port
from tests.integration.conftest import Backends, build_platform_app, create_key
from tests.servers import ServerThread

TAG = uuid.uuid4().int % 900 + 100  # questions no other test asks, so their traces can be counted
CASES = [{"id": f"c{n}", "question": f"What is {TAG}{n} * {n + 3}?", "answer": int(f"{TAG}{n}") * (n + 3)}
         for n in range(12)]


def start_worker(backends: Backends, redis_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
        "SUTAZAI_DATABASE_URL": backends.postgres.dsn(), "SUTAZAI_REDIS_URL": redis_url,
        "SUTAZAI_JWT_SECRET": "j" * 40, "SUTAZAI_WORKER_CLAIM_IDLE_MS": "500",
        "SUTAZAI_REASONING_URL": f"http://127.0.0.1:{port}", "SUTAZAI_IDENTITY_URL": f"http://127.0.0.1:{port}",
    }
    with log.open("ab") as out:
        return subprocess.Popen([str(Path(sys.executable).parent / "sutazai"), "worker", "learning"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def test_a_killed_evaluation_worker_loses_no_finished_case(backends: Backends, tmp_path: Path) -> None:
    port = free_port()
    redis_url = backends.redis.url().rsplit("/", 1)[0] + "/2"  # no other test's worker reads this stream
    admin = asyncio.run(create_key(backends, "admin"))
    app = build_platform_app(backends, port, redis_url=redis_url, learning_overrides={"inprocess_worker": False})
    log, suite = tmp_path / "worker.log", f"crash-{uuid.uuid4().hex[:6]}"
    with ServerThread(app, port=port) as server, httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {admin}"}, timeout=120) as client:
        body = "".join(json.dumps(c) + "\n" for c in CASES).encode()
        assert client.post(f"/api/learning/v1/suites/{suite}", content=body).status_code == 201
        run_id = client.post("/api/learning/v1/runs", json={"suite": suite}).json()["run_id"]
        first = start_worker(backends, redis_url, port, log)
        try:
            deadline = time.monotonic() + 300
            while (run := client.get(f"/api/learning/v1/runs/{run_id}").json())["finished"] < 2:
                assert run["status"] in ("queued", "running"), run
                assert time.monotonic() < deadline, f"no progress: {log.read_text()[-2000:]}"
                time.sleep(0.05)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        before = {r["case_id"]: r for r in client.get(f"/api/learning/v1/runs/{run_id}/results").json()}
        assert client.get(f"/api/learning/v1/runs/{run_id}").json()["status"] == "running"
        assert 2 <= len(before) < len(CASES), "the run finished before the worker could be killed"

        second = start_worker(backends, redis_url, port, log)
        try:
            deadline = time.monotonic() + 600
            while (run := client.get(f"/api/learning/v1/runs/{run_id}").json())["status"] == "running":
                assert time.monotonic() < deadline, f"the run did not resume: {log.read_text()[-2000:]}"
                time.sleep(0.5)
        finally:
            second.terminate()
            second.wait(timeout=30)
        after = client.get(f"/api/learning/v1/runs/{run_id}/results").json()
        assert run["status"] == "done" and run["finished"] == len(CASES), run
        assert [r["case_id"] for r in after] == [c["id"] for c in CASES]  # each once, in suite order
        kept = {r["case_id"]: r for r in after if r["case_id"] in before}
        assert kept == before  # finished before the kill: the same answer, trace and time, not asked again
        keys = {k["key_id"]: k for k in client.get("/api/identity/v1/keys", params={"include_revoked": True}).json()}
        assert keys[run["key_id"]]["revoked_at"] is not None
    with psycopg.connect(backends.postgres.dsn()) as conn:
        asked = dict(conn.execute("SELECT question, count(*) FROM reasoning.traces WHERE question = ANY(%s) "
                                  "GROUP BY question", ([c["question"] for c in CASES],)).fetchall())
    # every case asked once, except at most the one in flight when the worker died
    assert len(asked) == len(CASES) and sum(asked.values()) <= len(CASES) + 1, asked
    assert all(asked[before_case["question"]] == 1 for before_case in CASES if before_case["id"] in before)
