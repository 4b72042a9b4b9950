"""Ingestion in two stages, on the real backends and model: a document answers searches as soon
as it is indexed while the graph is still reading it; the graph job resumes at the first chunk
it had not read; a graph that fails for good leaves the document searchable and says why."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sutazai.knowledge import wiring
from sutazai.knowledge.graph.extraction import GraphBuilder
from sutazai.knowledge.ingest import Ingestor
from sutazai.knowledge.search.interface import SearchFilters
from sutazai.knowledge.settings import KnowledgeSettings
from sutazai.knowledge.store import chunks, documents, jobs
from tests.integration.conftest import Backends, Platform
from tests.integration.knowledge_helpers import auth, index_stage, search, wait_for_graph, wait_for_job

FACTS = [f"Station {n} of the Harrow survey stands near the river Tamsin and records {n * 3} floods a year."
         for n in range(1, 13)]


@pytest.fixture
def client(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as c:
        yield c


def test_a_document_answers_searches_while_the_graph_is_still_reading_it(platform: Platform,
                                                                        client: httpx.Client) -> None:
    col = f"stages-{uuid.uuid4().hex[:8]}"
    text = "\n\n".join(FACTS)
    body = client.post("/api/knowledge/v1/documents", json={"text": text, "source": "harrow.txt",
                                                             "collection": col}).json()
    assert wait_for_job(client, body["job"]["id"])["state"] == "done"
    searchable = client.get(f"/api/knowledge/v1/documents/{body['document']['id']}").json()
    hits = search(client, "Station 12 floods", collection=col, mode="keyword", k=3)
    assert searchable["status"] == "ready" and any("Station 12 " in h["text"] for h in hits)
    # the graph had not finished when the document first answered
    assert searchable["graph"]["state"] in ("pending", "extracting"), searchable["graph"]
    assert searchable["graph"]["chunks_read"] < searchable["graph"]["chunks"] == searchable["chunk_count"]

    settled = wait_for_graph(client, body["document"]["id"])
    assert settled["graph"] == {"state": "done", "chunks_read": settled["chunk_count"],
                                "chunks": settled["chunk_count"], "error": None}
    kinds = [j["kind"] for j in client.get(f"/api/knowledge/v1/documents/{body['document']['id']}/jobs").json()]
    assert kinds == ["graph", "index"]


class InterruptedGraph:
    """Fault injector around the real GraphBuilder: raises on the chunk after `read_before_failing`."""

    def __init__(self, real: GraphBuilder, read_before_failing: int | None) -> None:
        self.real, self.read_before_failing, self.calls = real, read_before_failing, 0

    async def extract(self, *, document: dict[str, Any], chunk_row: dict[str, Any]) -> None:
        self.calls += 1
        if self.read_before_failing is not None and self.calls > self.read_before_failing:
            raise ConnectionError("the model server went away")
        await self.real.extract(document=document, chunk_row=chunk_row)

    async def close_superseded(self, *, collection: str, document_id: str, version: int) -> None:
        await self.real.close_superseded(collection=collection, document_id=document_id, version=version)

    async def delete_document(self, *, collection: str, document_id: str) -> None:
        await self.real.delete_document(collection=collection, document_id=document_id)


def test_the_graph_job_resumes_where_it_stopped_and_a_final_failure_keeps_the_document_searchable(
        backends: Backends) -> None:
    private = backends.redis.url().rsplit("/", 1)[0] + "/2"  # no other test's worker consumes these events
    settings = KnowledgeSettings(**backends.settings(redis_url=private), inprocess_worker=False, chunk_max_chars=200)
    col = f"resume-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        async with wiring.started(settings) as kc:
            db = kc.resources.db
            graph = InterruptedGraph(GraphBuilder(db=db, store=kc.graph, model=kc.model), read_before_failing=3)
            ingestor = Ingestor(db=db, index=kc.index, embedder=kc.model, bus=kc.resources.bus, graph=graph,
                                max_bytes=1_000_000, chunk_chars=200)

            async def stages(source: str, text: str) -> tuple[str, str]:
                return await index_stage(ingestor, db, collection=col, source=source, text=text)

            async def document(doc_id: str) -> dict[str, Any]:
                async with db.connection() as conn:
                    row = await documents.get_document(conn=conn, document_id=doc_id)
                assert row is not None
                return row

            doc_id, graph_job = await stages("harrow.txt", "\n\n".join(FACTS))
            assert (await document(doc_id))["graph_status"] == "pending"
            try:
                await ingestor.process(graph_job, final_attempt=False)
                raise AssertionError("the interrupted graph job should have raised, to be retried")
            except ConnectionError:
                pass
            stopped = await document(doc_id)
            assert stopped["graph_status"] == "extracting" and stopped["graph_chunks_read"] == 3
            total = int(stopped["chunk_count"])
            assert total > 4

            graph.read_before_failing, graph.calls = None, 0
            await ingestor.process(graph_job, final_attempt=False)  # the redelivered event
            resumed = await document(doc_id)
            assert resumed["graph_status"] == "done" and resumed["graph_chunks_read"] == total
            assert graph.calls == total - 3  # nothing read twice
            async with db.connection() as conn:
                assert await chunks.graph_progress(conn=conn, document_id=doc_id, version=1) == (total, total)

            graph.read_before_failing, graph.calls = 0, 0
            other_id, other_job = await stages("thames.txt", "The Thames barrier closed 200 times by 2024.")
            await ingestor.process(other_job, final_attempt=True)
            failed = await document(other_id)
            assert failed["status"] == "ready" and failed["graph_status"] == "failed"
            assert "model server went away" in failed["graph_error"]
            hits = await kc.retriever.search(query="Thames barrier", filters=SearchFilters(collections=[col]), k=3)
            assert any(h.document_id == other_id for h in hits)

    asyncio.run(scenario())


def test_jobs_waiting_behind_a_moving_extraction_are_not_stalled(backends: Backends) -> None:
    """Graph jobs queue behind one long extraction; readiness must not call that stalled, nor
    re-publish them, while the running job keeps moving. Once it stops moving, they are."""
    import psycopg

    from sutazai.lib.db import Database

    col = f"queue-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(backends.postgres.dsn(), autocommit=True) as conn:
        doc = str(uuid.uuid4())
        conn.execute("INSERT INTO knowledge.blobs (sha256, content, size) VALUES (%s, 'x', 1) ON CONFLICT DO NOTHING",
                     (doc,))
        conn.execute("""INSERT INTO knowledge.documents (id, collection, source, media_type, sha256, status, created_by)
                        VALUES (%s, %s, 'q.txt', 'text/plain', %s, 'ready', 'test')""", (doc, col, doc))
        running, waiting = str(uuid.uuid4()), str(uuid.uuid4())
        for job, state, age in ((running, "running", "1 second"), (waiting, "queued", "2 hours")):
            conn.execute("""INSERT INTO knowledge.jobs (id, document_id, collection, version, state, kind, updated_at)
                            VALUES (%s, %s, %s, 1, %s, 'graph', now() - %s::interval)""",
                         (job, doc, col, state, age))

        async def counts() -> tuple[int, list[str]]:
            db = Database(backends.postgres.dsn(), max_size=1)
            await db.open(timeout=10)
            try:
                async with db.connection() as c:
                    stalled = await jobs.stalled_jobs(conn=c, quiet_seconds=600)
                    stale = await jobs.stale_queued_jobs(conn=c, older_than_seconds=600)
            finally:
                await db.close()
            return stalled, [job_id for job_id, _ in stale]

        try:
            stalled, stale = asyncio.run(counts())
            assert waiting not in stale
            conn.execute("UPDATE knowledge.jobs SET updated_at = now() - interval '1 hour' WHERE id = %s", (running,))
            now_stalled, stale = asyncio.run(counts())
            assert now_stalled == stalled + 2 and waiting in stale  # both of this queue's jobs, whatever else exists
        finally:
            conn.execute("DELETE FROM knowledge.documents WHERE id = %s", (doc,))
