"""Ingestion: accept a document (content-addressed), queue a job on the bus, and process it
idempotently (parse, chunk, embed, index, extract the graph) so that a worker killed half way
loses nothing and a rerun duplicates nothing."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sutazai.knowledge.chunking import chunk_document
from sutazai.knowledge.parsing import ParsedDocument, UnreadableDocument, media_type_for, parse
from sutazai.knowledge.pipeline import chunk_rows, embed_and_index
from sutazai.knowledge.search.interface import SearchIndex
from sutazai.knowledge.store import Conn, chunks, documents, jobs
from sutazai.lib.bus import EventBus
from sutazai.lib.db import Database
from sutazai.lib.errors import NotFound, PayloadTooLarge
from sutazai.lib.models import Embedder

logger = logging.getLogger(__name__)
JOB_STREAM = "knowledge.jobs"
INGEST_EVENT = "document.ingest"


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
        extract_graph: bool = True,
    ) -> None:
        self._db, self._index, self._embedder, self._bus, self._graph = db, index, embedder, bus, graph
        self._extract = extract_graph and graph is not None
        self._max_bytes, self._chunk_chars, self._batch = max_bytes, chunk_chars, embed_batch

    # ---- submit -----------------------------------------------------------------------
    async def submit(self, upload: Upload, *, actor: str) -> Submission:
        if len(upload.content) > self._max_bytes:
            raise PayloadTooLarge(
                f"document is {len(upload.content):,} bytes; the limit is {self._max_bytes:,} "
                "(SUTAZAI_MAX_DOCUMENT_BYTES)"
            )
        media_type = media_type_for(upload.filename or upload.source, upload.declared_type)
        parsed = await asyncio.to_thread(parse, upload.content, media_type)  # unreadable input: a 4xx now
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
        await self.enqueue(str(job["id"]))
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

    async def enqueue(self, job_id: str) -> None:
        await self._bus.publish(JOB_STREAM, INGEST_EVENT, {"job_id": job_id})

    async def requeue_stale(self, *, older_than_seconds: float) -> int:
        """Re-publish jobs still queued long after they were committed: their event may have been
        lost (e.g. Redis was down at that moment). A started job's event stays pending in the
        consumer group and is reclaimed by XAUTOCLAIM instead. Processing is idempotent."""
        async with self._db.connection() as conn:
            stale = await jobs.stale_queued_jobs(conn=conn, older_than_seconds=older_than_seconds)
        for job_id in stale:
            await self.enqueue(job_id)
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
        parsed = await asyncio.to_thread(parse, blob, document["media_type"])
        pieces = await asyncio.to_thread(chunk_document, parsed, max_chars=self._chunk_chars)
        rows = chunk_rows(document, pieces)
        await self._store_chunks(document, parsed, rows)
        await self._embed_and_index(job_id, document, rows)
        if self._extract:
            await self._extract_graph(job_id, document, rows)
        await self._finish(job_id, document, len(rows), parsed.title)
        logger.info("ingested %s v%d: %d chunks", doc_id, version, len(rows))

    async def _store_chunks(self, document: dict[str, Any], parsed: ParsedDocument, rows: list[dict[str, Any]]) -> None:
        doc_id, version = str(document["id"]), int(document["version"])
        async with self._db.connection() as conn, conn.transaction():
            await documents.put_text(conn=conn, document_id=doc_id, version=version, content=parsed.text)
            await chunks.upsert_chunks(conn=conn, rows=[
                (r["chunk_id"], doc_id, r["collection"], version, r["ordinal"], r["start_offset"],
                 r["end_offset"], r["page"], r["heading"], r["text"]) for r in rows])

    async def _embed_and_index(self, job_id: str, document: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        share = 70 if self._extract else 95

        async def progress(done: int, total: int) -> None:
            await self._update(job_id, stage="embedding and indexing", progress=round(5 + share * done / total, 1))

        await embed_and_index(document, rows, embedder=self._embedder, index=self._index, batch=self._batch,
                              progress=progress)

    async def _extract_graph(self, job_id: str, document: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        assert self._graph is not None  # noqa: S101 - checked by the caller
        for done, row in enumerate(rows, start=1):
            await self._graph.extract(document=document, chunk_row=row)
            await self._update(job_id, stage="extracting entities and relations",
                               progress=round(75 + 24 * done / max(len(rows), 1), 1))

    async def _finish(self, job_id: str, document: dict[str, Any], chunk_count: int, title: str | None) -> None:
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
