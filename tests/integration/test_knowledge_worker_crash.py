"""Kill the ingestion worker in the middle of a job and start a new one: the job finishes,
nothing is lost and nothing is duplicated."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

from sutazai.runtime.processes import free_port
from tests.integration.conftest import Backends, build_platform_app, create_key
from tests.integration.knowledge_helpers import auth, search, wait_for_job
from tests.servers import ServerThread

PARAGRAPHS = 1500


def private_redis(backends: Backends) -> str:
    """Redis database 1: no other test's worker consumes this test's job stream."""
    return backends.redis.url().rsplit("/", 1)[0] + "/1"


def start_worker(backends: Backends, log: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
        "SUTAZAI_DATABASE_URL": backends.postgres.dsn(), "SUTAZAI_REDIS_URL": private_redis(backends),
        "SUTAZAI_JWT_SECRET": "j" * 40, "SUTAZAI_WORKER_CLAIM_IDLE_MS": "500", "SUTAZAI_CHUNK_MAX_CHARS": "200",
        "SUTAZAI_EMBED_BATCH": "16", "SUTAZAI_GRAPH_EXTRACTION": "false",
    }
    with log.open("ab") as out:
        return subprocess.Popen([str(Path(sys.executable).parent / "sutazai"), "worker", "knowledge"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def test_killed_worker_loses_and_duplicates_nothing(backends: Backends, tmp_path: Path) -> None:
    """Uses its own app (no in-process worker), so the two subprocess workers are the only consumers."""
    port = free_port()
    admin = asyncio.run(create_key(backends, "admin"))
    app = build_platform_app(backends, port, redis_url=private_redis(backends), knowledge_overrides={
        "inprocess_worker": False, "chunk_max_chars": 200, "graph_extraction": False})
    text = "\n\n".join(f"Paragraph {i} records that sensor {i} read {i * 7 % 100} degrees." for i in range(PARAGRAPHS))
    log = tmp_path / "worker.log"
    with ServerThread(app, port=port) as server, httpx.Client(base_url=server.url, headers=auth(admin),
                                                              timeout=60) as client:
        first = start_worker(backends, log)
        try:
            body = client.post("/api/knowledge/v1/documents",
                               json={"text": text, "source": "sensors.txt", "collection": "crash-test"}).json()
            job_id, doc_id = body["job"]["id"], body["document"]["id"]
            deadline = time.monotonic() + 120
            while (job := client.get(f"/api/knowledge/v1/jobs/{job_id}").json())["percent"] < 20:
                assert job["state"] != "done", "the job finished before the worker could be killed"
                assert time.monotonic() < deadline, f"no progress: {log.read_text()[-2000:]}"
                time.sleep(0.05)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        killed_at = client.get(f"/api/knowledge/v1/jobs/{job_id}").json()
        assert killed_at["state"] == "running" and 0 < killed_at["percent"] < 100
        second = start_worker(backends, log)
        try:
            job = wait_for_job(client, job_id, timeout=300)
        finally:
            second.terminate()
            second.wait(timeout=30)
        assert job["state"] == "done" and job["attempts"] == 2, job
        hits = search(client, "sensor 1499", collection="crash-test", mode="keyword", k=3)
        assert any("Paragraph 1499 " in h["text"] for h in hits)
    with psycopg.connect(backends.postgres.dsn()) as conn:
        chunks = conn.execute("SELECT count(*), count(DISTINCT ordinal) FROM knowledge.chunks WHERE document_id = %s",
                              (doc_id,)).fetchone()
        indexed = conn.execute("SELECT count(*) FROM knowledge.chunk_index WHERE document_id = %s",
                               (doc_id,)).fetchone()
        recorded = conn.execute("SELECT chunk_count FROM knowledge.documents WHERE id = %s", (doc_id,)).fetchone()
    assert chunks is not None and indexed is not None and recorded is not None
    assert chunks[0] == chunks[1] == indexed[0] == recorded[0] >= PARAGRAPHS // 3
    joined = " ".join(h["text"] for h in hits)
    assert joined.count("Paragraph 1499 ") == 1
