"""Ingestion: accept a document (content-addressed), queue a job on the bus, and process it
idempotently in two stages, so that a worker killed half way loses nothing and a rerun
duplicates nothing:

1. the `index` job (parse, chunk, embed in batches, index) makes the document searchable;
2. the `graph` job, queued on its own stream when the first ends, reads the chunks with the
   model for entities and relations, marking each chunk read, so it resumes where it stopped
   and the document reports how much of it the graph has read. Indexing never waits behind
   extraction: the two streams have their own workers."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from prometheus_client.core import GaugeMetricFamily

from sutazai.knowledge.chunking import chunk_document
from sutazai.knowledge.parsing import (
    ParsedDocument,
    UnreadableDocument,
    media_type_for,
    parse,
    parse_checked,
    parse_ocr,
)
from sutazai.knowledge.pipeline import chunk_rows, embed_and_index
from sutazai.knowledge.search.interface import SearchIndex
from sutazai.knowledge.store import Conn, chunks, documents, jobs
from sutazai.lib.bus import EventBus
from sutazai.lib.db import Database
from sutazai.lib.errors import DependencyUnavailable, NotFound, PayloadTooLarge
from sutazai.lib.limits import LimitExceeded, Sandbox
from sutazai.lib.models import Embedder

logger = logging.getLogger(__name__)
JOB_STREAM = "knowledge.jobs"
INGEST_EVENT = "document.ingest"
GRAPH_STREAM = "knowledge.graph"
EXTRACT_EVENT = "document.extract"
GRAPH_BATCH = 8  # chunks fetched at a time by the graph job


class GraphWriter(Protocol):
    """The graph side of ingestion (entities and relations with provenance)."""

    async def extract(self, *, document: dict[str, Any], chunk_row: dict[str, Any]) -> None: ...

    async def close_superseded(self, *, collection: str, document_id: str, version: int) -> None: ...

    async def delete_document(self, *, collection: str, document_id: str) -> None: ...


class IngestionHealth:
    """Whether ingestion is moving: the worker tasks this process runs are alive, and no job has
    sat unchanged for longer than `stalled_after` seconds (readiness turns red otherwise, instead
    of uploads staying queued forever behind a green light)."""

    def __init__(self, *, db: Database, stalled_after: float) -> None:
        self._db, self._stalled_after = db, stalled_after
        self.tasks: list[asyncio.Task[None]] = []

    async def metrics(self) -> list[Any]:
        """`sutazai_jobs{kind,state}` (queued and running), `sutazai_jobs_oldest_seconds{kind}` (age
        of the oldest unfinished job) and `sutazai_jobs_stalled` (not moved for `stalled_after`)."""
        async with self._db.connection() as conn:
            state = await jobs.queue_state(conn=conn, quiet_seconds=self._stalled_after)
        count = GaugeMetricFamily("sutazai_jobs", "Unfinished ingestion jobs", labels=["kind", "state"])
        oldest = GaugeMetricFamily("sutazai_jobs_oldest_seconds", "Age of the oldest unfinished job", labels=["kind"])
        ages: dict[str, float] = {}
        seen = {(kind, st): n for kind, st, n, _ in state["counts"]}
        for kind in ("index", "graph"):
            for st in ("queued", "running"):
                count.add_metric([kind, st], float(seen.get((kind, st), 0)))
        for kind, _, _, age in state["counts"]:
            ages[kind] = max(ages.get(kind, 0.0), age)
        for kind in ("index", "graph"):
            oldest.add_metric([kind], ages.get(kind, 0.0))
        stalled = GaugeMetricFamily("sutazai_jobs_stalled", "Unfinished jobs that have not moved for "
                                    "SUTAZAI_STALLED_AFTER_SECONDS", value=float(state["stalled"]))
        return [count, oldest, stalled]

    async def check(self) -> None:
        for task in self.tasks:
            if task.done():
                failure = task.exception() if not task.cancelled() else None
                raise RuntimeError(f"the ingestion worker stopped ({failure or 'cancelled'}); restart the service")
        async with self._db.connection() as conn:
            stalled = await jobs.stalled_jobs(conn=conn, quiet_seconds=self._stalled_after)
        if stalled:
            raise RuntimeError(f"{stalled} ingestion job(s) have not moved for over {self._stalled_after:g} s; "
                               "is a worker running (`sutazai worker knowledge`)?")


@dataclass(frozen=True)
class Submission:
    document: dict[str, Any]
    job: dict[str, Any] | None
    duplicate: bool


@dataclass(frozen=True)
class Upload:
    content: bytes
    collection: str
    source: str
    filename: str | None = None
    declared_type: str | None = None
    title: str | None = None
    tags: tuple[str, ...] = ()
    doc_date: date | None = None


class Ingestor:
    """Owns the document lifecycle; knows nothing of HTTP."""

    def __init__(
        self, *, db: Database, index: SearchIndex, embedder: Embedder, bus: EventBus,
        graph: GraphWriter | None, max_bytes: int, chunk_chars: int, embed_batch: int = 32,
        extract_graph: bool = True, sandbox: Sandbox | None = None, parse_seconds: float = 60.0,
        ocr_page_seconds: float = 60.0,
    ) -> None:
        self._sandbox, self._parse_seconds, self._ocr_page_seconds = sandbox, parse_seconds, ocr_page_seconds
        self._db, self._index, self._embedder, self._bus, self._graph = db, index, embedder, bus, graph
        self._extract = extract_graph and graph is not None
        self._max_bytes, self._chunk_chars, self._batch = max_bytes, chunk_chars, embed_batch

    async def _parse(self, content: bytes, media_type: str, *, ocr: bool = False) -> ParsedDocument:
        """Parse in the sandbox (its own process, bounded time and memory) when there is one,
        else in a thread (unit tests). Without `ocr`, a scan or an image is checked, not read;
        with it, its pages are read by OCR, each adding SUTAZAI_OCR_PAGE_SECONDS to the limit."""
        checked = await self._parse_bounded(content, media_type, ocr=False, seconds=self._parse_seconds)
        if not (ocr and checked.ocr_pages):
            return checked
        return await self._parse_bounded(content, media_type, ocr=True, seconds=self._parse_seconds
                                         + self._ocr_page_seconds * len(checked.ocr_pages))

    async def _parse_bounded(self, content: bytes, media_type: str, *, ocr: bool, seconds: float) -> ParsedDocument:
        if self._sandbox is None:
            return await asyncio.to_thread(parse, content, media_type, ocr=ocr)
        try:
            return await self._sandbox.run(parse_ocr if ocr else parse_checked, content, media_type, seconds=seconds)
        except LimitExceeded as exc:
            raise UnreadableDocument(f"reading this {media_type} document was stopped: {exc} "
                                     "(SUTAZAI_PARSE_TIMEOUT_SECONDS, SUTAZAI_OCR_PAGE_SECONDS per page read by OCR); "
                                     "split it, or convert it to text") from exc

    # ---- submit -----------------------------------------------------------------------
    async def submit(self, upload: Upload, *, actor: str) -> Submission:
        if len(upload.content) > self._max_bytes:
            raise PayloadTooLarge(
                f"document is {len(upload.content):,} bytes; the limit is {self._max_bytes:,} "
                "(SUTAZAI_MAX_DOCUMENT_BYTES)"
            )
        media_type = media_type_for(upload.filename or upload.source, upload.declared_type)
        parsed = await self._parse(upload.content, media_type)  # unreadable input: a 4xx now
        sha = hashlib.sha256(upload.content).hexdigest()
        async with self._db.connection() as conn, conn.transaction():
            existing = await documents.find_document(conn=conn, collection=upload.collection,
                                                 source=upload.source, lock=True)
            same = await documents.find_by_hash(conn=conn, collection=upload.collection, sha256=sha)
            if same is not None and (existing is None or existing["sha256"] == sha):
                return Submission(document=same, job=None, duplicate=True)
            await documents.put_blob(conn=conn, sha256=sha, content=upload.content)
            document = await self._upsert_document(conn, upload, parsed, media_type, sha, existing, actor)
            job = await jobs.insert_job(conn=conn, job_id=str(uuid.uuid4()), document_id=str(document["id"]),
                                         collection=upload.collection, version=document["version"])
        try:
            await self.enqueue(str(job["id"]))
        except DependencyUnavailable as exc:
            # the document and its job are committed in PostgreSQL, the source of truth: the
            # worker's requeue publishes the job once Redis answers again, so this is accepted
            logger.warning("job %s queued in PostgreSQL only, Redis is down: %s", job["id"], exc.detail)
        return Submission(document=document, job=job, duplicate=False)

    async def _upsert_document(
        self, conn: Conn, upload: Upload, parsed: ParsedDocument, media_type: str, sha: str,
        existing: dict[str, Any] | None, actor: str,
    ) -> dict[str, Any]:
        title = upload.title or parsed.title
        tags, when = sorted(set(upload.tags)), upload.doc_date or date.today()
        if existing is not None:
            return await documents.new_version(conn=conn, document_id=str(existing["id"]), title=title,
                                           media_type=media_type, sha256=sha, tags=tags, doc_date=when)
        return await documents.insert_document(
            conn=conn, document_id=str(uuid.uuid4()), collection=upload.collection, source=upload.source,
            title=title, media_type=media_type, sha256=sha, tags=tags, doc_date=when, created_by=actor,
        )

    async def enqueue(self, job_id: str, kind: str = "index") -> None:
        if kind == "graph":
            await self._bus.publish(GRAPH_STREAM, EXTRACT_EVENT, {"job_id": job_id})
        else:
            await self._bus.publish(JOB_STREAM, INGEST_EVENT, {"job_id": job_id})

    async def requeue_stale(self, *, older_than_seconds: float) -> int:
        """Re-publish jobs still queued long after they were committed: their event may have been
        lost (e.g. Redis was down at that moment). A started job's event stays pending in the
        consumer group and is reclaimed by XAUTOCLAIM instead. Processing is idempotent."""
        async with self._db.connection() as conn:
            stale = await jobs.stale_queued_jobs(conn=conn, older_than_seconds=older_than_seconds)
        for job_id, kind in stale:
            await self.enqueue(job_id, kind)
        return len(stale)

    # ---- process ----------------------------------------------------------------------
    async def process(self, job_id: str, *, final_attempt: bool) -> None:
        """Run one ingestion job to completion. Raises on transient failure (to be retried)
        unless this is the final attempt, in which case the job is marked failed."""
        async with self._db.connection() as conn:
            job = await jobs.get_job(conn=conn, job_id=job_id)
            document = await documents.get_document(conn=conn, document_id=str(job["document_id"])) if job else None
        if job is None or document is None or job["state"] in ("done", "failed"):
            return
        if document["version"] != job["version"]:
            await self._update(job_id, state="done", progress=100, stage="superseded by a newer version")
            return
        if job["kind"] == "graph":
            await self._graph_job(job_id, document, final_attempt=final_attempt)
            return
        try:
            await self._run(job_id, document)
        except UnreadableDocument as exc:
            await self._fail(job_id, document, exc.detail)
        except Exception as exc:
            if not final_attempt:
                raise
            logger.exception("ingestion job %s failed for good", job_id)
            await self._fail(job_id, document, f"ingestion failed: {exc}")

    async def _run(self, job_id: str, document: dict[str, Any]) -> None:
        doc_id, version = str(document["id"]), int(document["version"])
        async with self._db.connection() as conn, conn.transaction():
            await jobs.update_job(conn=conn, job_id=job_id, state="running", stage="parsing", started=True)
            await documents.set_document_status(conn=conn, document_id=doc_id, status="processing")
            blob = await documents.get_blob(conn=conn, sha256=document["sha256"])
        if blob is None:
            raise UnreadableDocument("the stored content of this document is missing")
        # parsing and chunking run off the event loop: a pathological file must not stall the
        # worker's Redis connection or the service's other requests
        parsed = await self._parse(blob, document["media_type"], ocr=True)
        pieces = await asyncio.to_thread(chunk_document, parsed, max_chars=self._chunk_chars)
        rows = chunk_rows(document, pieces)
        await self._store_chunks(document, parsed, rows)
        await self._embed_and_index(job_id, document, rows)
        graph_job = await self._finish(job_id, document, len(rows), parsed.title)
        logger.info("indexed %s v%d: %d chunks, searchable", doc_id, version, len(rows))
        if graph_job is not None:
            await self.enqueue(graph_job, "graph")

    async def _store_chunks(self, document: dict[str, Any], parsed: ParsedDocument, rows: list[dict[str, Any]]) -> None:
        doc_id, version = str(document["id"]), int(document["version"])
        async with self._db.connection() as conn, conn.transaction():
            await documents.put_text(conn=conn, document_id=doc_id, version=version, content=parsed.text)
            await chunks.upsert_chunks(conn=conn, rows=[
                (r["chunk_id"], doc_id, r["collection"], version, r["ordinal"], r["start_offset"],
                 r["end_offset"], r["page"], r["heading"], r["text"]) for r in rows])

    async def _embed_and_index(self, job_id: str, document: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        async def progress(done: int, total: int) -> None:
            await self._update(job_id, stage="embedding and indexing", progress=round(5 + 94 * done / total, 1))

        await embed_and_index(document, rows, embedder=self._embedder, index=self._index, batch=self._batch,
                              progress=progress)

    async def _graph_job(self, job_id: str, document: dict[str, Any], *, final_attempt: bool) -> None:
        """Read the version's unread chunks with the model, a batch at a time, marking each read
        as its facts are written; stop early if the document is deleted or superseded. A
        transient failure is retried (the job resumes at the first unread chunk); on the final
        attempt the graph is marked failed and the document stays searchable."""
        assert self._graph is not None  # noqa: S101 - a graph job is only queued with a graph writer
        doc_id, version = str(document["id"]), int(document["version"])
        async with self._db.connection() as conn, conn.transaction():
            await jobs.update_job(conn=conn, job_id=job_id, state="running", stage="reading chunks", started=True)
            await documents.set_graph_status(conn=conn, document_id=doc_id, status="extracting")
        try:
            while True:
                async with self._db.connection() as conn:
                    current = await documents.get_document(conn=conn, document_id=doc_id)
                    batch = await chunks.unread_chunks(conn=conn, document_id=doc_id, version=version,
                                                       limit=GRAPH_BATCH)
                if current is None:
                    return  # deleted meanwhile; its job went with it
                if int(current["version"]) != version:
                    await self._update(job_id, state="done", progress=100, stage="superseded by a newer version")
                    return
                if not batch:
                    break
                for row in batch:
                    await self._graph.extract(document=document, chunk_row=row)
                    async with self._db.connection() as conn, conn.transaction():
                        await chunks.mark_graph_read(conn=conn, chunk_ids=[row["chunk_id"]])
                        read, total = await chunks.graph_progress(conn=conn, document_id=doc_id, version=version)
                        await jobs.update_job(conn=conn, job_id=job_id, stage=f"read {read} of {total} chunks",
                                              progress=round(100 * read / max(total, 1), 1))
        except Exception as exc:
            if not final_attempt:
                raise
            logger.exception("graph extraction job %s failed for good", job_id)
            reason = f"graph extraction failed: {exc}"
            async with self._db.connection() as conn, conn.transaction():
                await documents.set_graph_status(conn=conn, document_id=doc_id, status="failed", error=reason)
                await jobs.update_job(conn=conn, job_id=job_id, state="failed", stage="failed", error=reason)
            return
        async with self._db.connection() as conn, conn.transaction():
            await documents.set_graph_status(conn=conn, document_id=doc_id, status="done")
            await jobs.update_job(conn=conn, job_id=job_id, state="done", progress=100, stage="done")
        logger.info("graph read %s v%d", doc_id, version)

    async def _finish(self, job_id: str, document: dict[str, Any], chunk_count: int,
                      title: str | None) -> str | None:
        """The document is searchable: old versions leave the index, and the graph job is queued
        (its id returned) in the same transaction that marks the document ready."""
        doc_id, version = str(document["id"]), int(document["version"])
        async with self._db.connection() as conn:
            stale = await chunks.chunk_ids(conn=conn, document_id=doc_id, version=version, of_version=False)
        if stale:
            await self._index.delete_chunks(stale)
        if self._graph is not None:
            await self._graph.close_superseded(collection=document["collection"], document_id=doc_id,
                                               version=version)
        async with self._db.connection() as conn, conn.transaction():
            if stale:
                await chunks.delete_chunks(conn=conn, chunk_ids=stale)
            await documents.delete_version_texts(conn=conn, document_id=doc_id, keep_version=version)
            await documents.set_document_status(conn=conn, document_id=doc_id, status="ready",
                                            chunk_count=chunk_count, title=title)
            await jobs.update_job(conn=conn, job_id=job_id, state="done", progress=100, stage="done")
            graph_job = None
            if self._extract and chunk_count:
                graph_job = str(uuid.uuid4())
                await jobs.insert_job(conn=conn, job_id=graph_job, document_id=doc_id,
                                      collection=document["collection"], version=version, kind="graph")
            await documents.set_graph_status(conn=conn, document_id=doc_id,
                                             status="pending" if graph_job else ("done" if self._extract else "off"))
        return graph_job

    async def _fail(self, job_id: str, document: dict[str, Any], reason: str) -> None:
        """Nothing half-indexed: this version's chunks leave the index and the store."""
        doc_id, version = str(document["id"]), int(document["version"])
        async with self._db.connection() as conn:
            ids = await chunks.chunk_ids(conn=conn, document_id=doc_id, version=version, of_version=True)
        if ids:
            await self._index.delete_chunks(ids)
        async with self._db.connection() as conn, conn.transaction():
            if ids:
                await chunks.delete_chunks(conn=conn, chunk_ids=ids)
            await documents.set_document_status(conn=conn, document_id=doc_id, status="failed", error=reason)
            await documents.set_graph_status(conn=conn, document_id=doc_id, status="off")
            await jobs.update_job(conn=conn, job_id=job_id, state="failed", stage="failed", error=reason)

    async def _update(self, job_id: str, **fields: Any) -> None:
        async with self._db.connection() as conn:
            await jobs.update_job(conn=conn, job_id=job_id, **fields)

    # ---- delete -----------------------------------------------------------------------
    async def delete(self, *, document_id: str, allowed: Callable[[str], bool]) -> None:
        async with self._db.connection() as conn:
            document = await documents.get_document(conn=conn, document_id=document_id)
        if document is None or not allowed(document["collection"]):
            raise NotFound(f"no document {document_id}")
        await self._index.delete_document(document_id)
        if self._graph is not None:
            await self._graph.delete_document(collection=document["collection"], document_id=document_id)
        async with self._db.connection() as conn, conn.transaction():
            await documents.delete_document(conn=conn, document_id=document_id)
