"""Backup and restore drill: `sutazai backup` while the stack serves a load of uploads, asks,
feedback and key creation; `sutazai restore` into a new data directory; then documents, chunks,
graph facts, traces, feedback and keys compared one by one with the original, and the restored
stack started and used."""

from __future__ import annotations

import asyncio
import io
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from sutazai.knowledge.graph.falkordb_store import FalkorDBGraphStore
from sutazai.knowledge.graph.interface import Entity, Fact
from sutazai.runtime.stack import Stack
from tests.e2e.conftest import cli_stack
from tests.e2e.stack import CliStack

FACTS = [
    "Ada Lovelace worked with Charles Babbage. Charles Babbage designed the Analytical Engine.",
    "The Harbin observatory was founded in 1932 by the astronomer Lena Quill.",
    "Orvane Systems is based in Tallinn. Orvane Systems was founded by Mari Kask.",
]
TABLES = {  # what is compared, and by which key
    "knowledge.documents": "id", "knowledge.chunks": "id", "reasoning.traces": "id",
    "reasoning.trace_steps": "trace_id, seq", "learning.feedback": "id", "identity.api_keys": "key_id",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliStack]:
    with cli_stack(tmp_path_factory.mktemp("backed-up")) as cli:
        yield cli


def rows(dsn: str, table: str, key: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        found = conn.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - fixed names above
    names = [k.strip() for k in key.split(",")]
    return {"/".join(str(r[n]) for n in names): r for r in found}


def graph(url: str, collections: list[str]) -> set[str]:
    async def read() -> set[str]:
        store = FalkorDBGraphStore.from_url(url)
        try:
            return {f"{c}:{item!r}" for c in collections async for item in store.export(c)}
        finally:
            await store.close()

    return asyncio.run(read())


def by_name(url: str, collections: list[str]) -> set[str]:
    """The graph as what it says, not how it was stored: entities by collection, name and type,
    facts by what they link and where they were read (an entity or fact the restored stack reads
    again from a document its snapshot caught half-read gets a new id and extraction time)."""
    async def read() -> set[str]:
        store = FalkorDBGraphStore.from_url(url)
        try:
            items: list[tuple[str, Any]] = []
            for c in collections:
                items += [(c, item) async for item in store.export(c)]
        finally:
            await store.close()
        names = {(c, i.id): f"{i.name}/{i.type}" for c, i in items if isinstance(i, Entity)}
        return {f"{c}:entity {i.name}/{i.type} {sorted(i.aliases)}" if isinstance(i, Entity) else
                f"{c}:fact {names.get((c, i.source_id))} {i.relation} {names.get((c, i.target_id))} "
                f"{i.document_id} {i.chunk_id} v{i.version}" for c, i in items if isinstance(i, (Entity, Fact))}

    return asyncio.run(read())


def dsn_of(cli: CliStack) -> str:
    state = Stack(cli.data_dir).state()
    assert state is not None
    return Stack(cli.data_dir).postgres(state.postgres_port).dsn()


def redis_url_of(cli: CliStack) -> str:
    state = Stack(cli.data_dir).state()
    assert state is not None
    return Stack(cli.data_dir).redis(state.redis_port).url()


class Load:
    """Uploads, asks with feedback, and key creation, in a loop until stopped; counts what was
    acknowledged."""

    def __init__(self, cli: CliStack, key: str) -> None:
        self.cli, self.key, self.stop = cli, key, threading.Event()
        self.acknowledged: list[str] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        n = 0
        with httpx.Client(base_url=self.cli.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=120) as c:
            while not self.stop.is_set():
                n += 1
                try:
                    up = c.post("/api/knowledge/v1/documents", json={
                        "text": f"Load note {n}: the pump in bay {n} was serviced.", "collection": "load",
                        "source": f"load-{n}.txt"})
                    self.acknowledged.append(f"document {up.json()['document']['id']}") if up.status_code == 202 \
                        else self.errors.append(up.text)
                    asked = c.post("/api/reasoning/v1/ask", json={"question": f"What is {n} * 3?"})
                    trace = asked.json()["trace_id"]
                    rated = c.post("/api/learning/v1/feedback", json={"trace_id": trace, "rating": "up"})
                    self.acknowledged.append(f"feedback {rated.json()['id']}")
                    made = c.post("/api/identity/v1/keys", json={"role": "user", "name": f"load-{n}"})
                    self.acknowledged.append(f"key {made.json()['id']}") if made.status_code == 201 \
                        else self.errors.append(made.text)
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    self.errors.append(repr(exc))


def test_backup_under_load_restores_into_a_new_directory_record_by_record(
        stack: CliStack, tmp_path: Path) -> None:
    key = stack.create_key("admin")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=stack.url, headers=headers, timeout=300) as client:
        for i, text in enumerate(FACTS):
            posted = client.post("/api/knowledge/v1/documents", json={"text": text, "collection": "drill",
                                                                      "source": f"fact-{i}.txt"})
            assert posted.status_code == 202, posted.text
        deadline = time.monotonic() + 600
        while True:
            docs = client.get("/api/knowledge/v1/documents", params={"collection": "drill"}).json()
            if len(docs) == len(FACTS) and all(d["status"] == "ready" and d["graph"]["state"] in ("done", "failed")
                                               for d in docs):
                break
            assert time.monotonic() < deadline, docs
            time.sleep(1)
        asked = client.post("/api/reasoning/v1/ask", json={"question": "Who founded the Harbin observatory?",
                                                           "collection": "drill"}).json()
        client.post("/api/learning/v1/feedback", json={"trace_id": asked["trace_id"], "rating": "down",
                                                       "comment": "kept through the drill"}).raise_for_status()
    before = {t: rows(dsn_of(stack), t, k) for t, k in TABLES.items()}  # acknowledged before the backup
    facts_before = graph(redis_url_of(stack), ["drill"])
    assert facts_before and any(":Fact(" in f for f in facts_before), "the drill needs graph facts to compare"

    load = Load(stack, key)
    load.thread.start()
    time.sleep(3)  # the load is running when the backup starts
    archive = tmp_path / "drill.tar.gz"
    made = stack.run("backup", extra=("--out", str(archive)), timeout=600)
    load.stop.set()
    load.thread.join(timeout=300)
    assert made.returncode == 0, made.stdout + made.stderr
    assert load.acknowledged, f"the load did nothing: {load.errors[:3]}"
    # The original finishes what it acknowledged before it is read as "after": the restored stack
    # ingests the uploads its snapshot caught queued, so comparing with a half-done original would
    # call their chunks invented.
    with httpx.Client(base_url=stack.url, headers=headers, timeout=120) as client:
        deadline = time.monotonic() + 600
        while True:
            docs = client.get("/api/knowledge/v1/documents", params={"collection": "load"}).json()
            if all(d["status"] in ("ready", "failed") and d["graph"]["state"] in ("done", "failed", "off")
                   for d in docs):  # the graph has read them too ("extracting" is not finished)
                break
            assert time.monotonic() < deadline, [d for d in docs if d["status"] not in ("ready", "failed")][:3]
            time.sleep(1)
    after = {t: rows(dsn_of(stack), t, k) for t, k in TABLES.items()}
    facts_after = by_name(redis_url_of(stack), ["drill", "load"])

    checked = stack.run("restore", str(archive), extra=("--check",))
    assert checked.returncode == 0 and "every checksum matches" in checked.stdout

    restored = CliStack(tmp_path / "restored")
    done = restored.run("restore", str(archive), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (restored.data_dir / "secrets" / "jwt.secret").exists() or \
        (restored.data_dir / "secrets" / "jwt.secret").read_bytes() != \
        (stack.data_dir / "secrets" / "jwt.secret").read_bytes()  # secrets are never carried over
    with tarfile.open(archive) as tar:
        assert not any("secret" in name or "password" in name for name in tar.getnames())
    started = restored.up()
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        mine = {t: rows(dsn_of(restored), t, k) for t, k in TABLES.items()}
        for table in TABLES:
            missing = set(before[table]) - set(mine[table])
            assert not missing, f"{table}: acknowledged before the backup, missing after restore: {sorted(missing)[:3]}"
            for row_key in before[table]:  # finished before the backup: the same, column by column
                assert mine[table][row_key] == before[table][row_key], (table, row_key)
            invented = set(mine[table]) - set(after[table])
            assert not invented, f"{table}: rows the original never had: {sorted(invented)[:3]}"
        restored_facts = graph(redis_url_of(restored), ["drill", "load"])
        assert facts_before <= restored_facts, "graph facts acknowledged before the backup are missing"
        extra = by_name(redis_url_of(restored), ["drill", "load"]) - facts_after
        assert not extra, f"the restored graph holds facts the original never had: {sorted(extra)[:3]}"
        with httpx.Client(base_url=restored.url, headers=headers, timeout=120) as client:
            assert client.get("/api/identity/v1/whoami").json()["role"] == "admin"  # the key still works
            hits = client.get("/api/knowledge/v1/search", params={"q": "Lena Quill", "collection": "drill"}).json()
            assert hits["hits"] and "Lena Quill" in hits["hits"][0]["text"]
            trace = client.get(f"/api/reasoning/v1/traces/{asked['trace_id']}").json()
            assert trace["question"] == "Who founded the Harbin observatory?"
    finally:
        restored.down()


def test_a_damaged_archive_is_refused_before_anything_is_written(stack: CliStack, tmp_path: Path) -> None:
    archive = tmp_path / "good.tar.gz"
    assert stack.run("backup", extra=("--out", str(archive)), timeout=600).returncode == 0
    again = stack.run("backup", extra=("--out", str(archive)))
    assert again.returncode == 1 and "exists" in again.stderr  # never overwrites a backup
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(damaged, "w:gz") as tar:
        for name, data in members.items():
            if name == "postgres.dump":  # one bit flipped (present whatever the stack holds)
                data = data[:-1] + bytes([data[-1] ^ 1])
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    target = CliStack(tmp_path / "never")
    refused = target.run("restore", str(damaged))
    assert refused.returncode == 1 and "does not match its checksum" in refused.stderr
    assert not (target.data_dir / "postgres").exists()
    not_ours = tmp_path / "other.tar.gz"
    with tarfile.open(not_ours, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    refused = target.run("restore", str(not_ours))
    assert refused.returncode == 1 and "is not a SutazAI backup" in refused.stderr
    occupied = target.run("restore", str(archive), extra=("--data-dir", str(stack.data_dir)))
    assert occupied.returncode == 1 and "restore into a new data directory" in occupied.stderr

