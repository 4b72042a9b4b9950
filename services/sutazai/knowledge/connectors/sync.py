"""One sync of a connector: list the source, ingest what is new or changed, delete what
disappeared, and record the run as it goes.

- Nothing is ingested twice: an item whose version has not changed is skipped, and ingestion
  itself skips bytes the collection already holds.
- An interrupted sync resumes: each item's row is committed as soon as its documents are
  accepted, so the next run (a worker that died lets its lease run out) skips what was done.
- Errors stay with their item (a file outside the allowed folders, a corrupt image, an attachment
  over the limit): recorded with the reason, and the rest of the sync goes on. A failed
  document writes nothing (ingestion parses before it stores).
- Deletions follow only a complete listing: a crawl stopped by its page limit, or a folder that
  could not be read, removes nothing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sutazai.knowledge.connectors.base import ItemError, ItemRef, Piece, Skipped, Source, SourceUnavailable
from sutazai.knowledge.connectors.registry import Limits, open_source
from sutazai.knowledge.ingest import Ingestor, Upload
from sutazai.knowledge.store import connectors as store
from sutazai.knowledge.store.connectors import ConnectorRow, ItemRow
from sutazai.lib.db import Database
from sutazai.lib.errors import NotFound, PayloadTooLarge, SutazaiError, ValidationFailed
from sutazai.lib.field_crypto import FieldCipher

logger = logging.getLogger(__name__)
MAX_ERRORS = 200  # kept per run; the count goes on


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("seen", "added", "changed", "unchanged", "deleted", "failed"), 0))
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, item: str, reason: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"item": item, "reason": reason})


Progress = Callable[[str, Tally], Awaitable[None]]
"""Called after each item with its key and the run's tally so far (the CLI's progress, a test's
interruption)."""


class Syncer:
    def __init__(self, *, db: Database, ingestor: Ingestor, cipher: FieldCipher, limits: Limits,
                 lease_seconds: float = 300.0) -> None:
        self._db, self._ingestor, self._cipher, self._limits = db, ingestor, cipher, limits
        self._lease = lease_seconds

    async def run_due(self, *, progress: Progress | None = None) -> int:
        """Sync every connector that is due, one at a time; returns how many ran."""
        ran = 0
        while True:
            async with self._db.connection() as conn:
                connector = await store.claim_due(conn=conn, lease_seconds=self._lease)
            if connector is None:
                return ran
            await self.run(connector, progress=progress)
            ran += 1

    async def run(self, connector: ConnectorRow, *, progress: Progress | None = None) -> store.RunRow:
        async with self._db.connection() as conn:
            run = await store.start_run(conn=conn, connector_id=connector.id, requested_by=connector.requested_by)
        tally, state, failure = Tally(), "done", None
        try:
            await self._sync(connector, run.id, tally, progress)
        except asyncio.CancelledError:
            await asyncio.shield(self._end(connector, run.id, tally, "interrupted", "the sync was stopped "
                                           "(the service shut down); the next run resumes it", resume=True))
            raise
        except (SourceUnavailable, ValidationFailed) as exc:
            state, failure = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - any fault ends the run as failed, with its reason, not the loop
            logger.exception("sync of connector %s failed", connector.name)
            state, failure = "failed", f"the sync failed: {exc}"
        await self._end(connector, run.id, tally, state, failure)
        async with self._db.connection() as conn:
            return (await store.runs(conn=conn, connector_id=connector.id, limit=1))[0]

    async def _end(self, connector: ConnectorRow, run_id: Any, tally: Tally, state: str, failure: str | None,
                   *, resume: bool = False) -> None:
        async with self._db.connection() as conn, conn.transaction():
            await store.update_run(conn=conn, run_id=run_id, counts=tally.counts, errors=tally.errors, state=state,
                                   error=failure)
            if resume:
                await store.request_sync(conn=conn, connector_id=connector.id, by=None)
            await store.release(conn=conn, connector_id=connector.id, every_seconds=connector.every_seconds)

    async def _sync(self, connector: ConnectorRow, run_id: Any, tally: Tally, progress: Progress | None) -> None:
        secret = await self._cipher.open(connector.secret)
        source = open_source(connector.kind, connector.config, secret=secret, limits=self._limits)
        try:
            listing = await asyncio.to_thread(source.listing)
            for error in listing.errors:
                tally.error(error.item, error.reason)
            async with self._db.connection() as conn:
                known = await store.items(conn=conn, connector_id=connector.id)
            leased = time.monotonic()
            for ref in listing.items:
                await self._item(connector, source, ref, known.get(ref.key), tally)
                async with self._db.connection() as conn:
                    await store.update_run(conn=conn, run_id=run_id, counts=tally.counts, errors=tally.errors)
                    if time.monotonic() - leased > self._lease / 3:
                        await store.extend_lease(conn=conn, connector_id=connector.id, lease_seconds=self._lease)
                        leased = time.monotonic()
                if progress is not None:
                    await progress(ref.key, tally)
            if listing.complete:
                kept = {r.key for r in listing.items} | {e.item for e in listing.errors}  # a failed read keeps it
                for key, row in known.items():
                    if key not in kept:
                        await self._remove(connector, row)
                        tally.counts["deleted"] += 1
        finally:
            await asyncio.to_thread(source.close)

    async def _item(self, connector: ConnectorRow, source: Source, ref: ItemRef, old: ItemRow | None,
                    tally: Tally) -> None:
        tally.counts["seen"] += 1
        if old is not None and old.version == ref.version:
            tally.counts["unchanged"] += 1
            return
        try:
            pieces = await asyncio.to_thread(lambda: list(source.fetch(ref)))
        except ItemError as exc:  # not recorded as synced: tried again next run
            tally.counts["failed"] += 1
            tally.error(exc.item, exc.reason)
            return
        document_ids: list[str] = []
        failed = False
        for piece in pieces:
            if isinstance(piece, Skipped):
                tally.error(f"{ref.key}/{piece.name}", piece.reason)
                continue
            document_id = await self._ingest(connector, ref, piece, tally)
            failed = failed or document_id is None
            if document_id:
                document_ids.append(document_id)
        for gone in {str(d) for d in (old.document_ids if old else [])} - set(document_ids):
            await self._delete_document(connector, gone)  # a part the item no longer has
        async with self._db.connection() as conn:
            # recorded even when a document of it was refused (corrupt, too large): the same bytes
            # would be refused again; the item is read again once its version changes
            await store.put_item(conn=conn, connector_id=connector.id, item=ref.key, version=ref.version,
                                 document_ids=document_ids)
        if failed:
            tally.counts["failed"] += 1
        else:
            tally.counts["changed" if old is not None else "added"] += 1

    async def _ingest(self, connector: ConnectorRow, ref: ItemRef, piece: Piece, tally: Tally) -> str | None:
        source = f"{connector.name}:{ref.key}{piece.name}"
        upload = Upload(content=piece.content, collection=connector.collection, source=source[:1000],
                        filename=piece.filename, declared_type=piece.media_type, title=piece.title,
                        tags=(f"connector:{connector.name}", *piece.tags), doc_date=piece.date)
        try:
            submitted = await self._ingestor.submit(upload, actor=f"connector:{connector.name}")
        except (ValidationFailed, PayloadTooLarge) as exc:
            tally.error(f"{ref.key}{piece.name}", exc.detail)
            return None
        except SutazaiError as exc:
            if exc.code.status >= 500:
                raise  # a backend is down: the run fails and the item is tried again
            tally.error(f"{ref.key}{piece.name}", exc.detail)
            return None
        document = submitted.document
        if submitted.duplicate and document["source"] != source:
            return ""  # the same bytes are in the collection under another source: nothing to add
        return str(document["id"])

    async def _remove(self, connector: ConnectorRow, row: ItemRow) -> None:
        for document_id in row.document_ids:
            await self._delete_document(connector, str(document_id))
        async with self._db.connection() as conn:
            await store.drop_item(conn=conn, connector_id=connector.id, item=row.item)

    async def _delete_document(self, connector: ConnectorRow, document_id: str) -> None:
        try:
            await self._ingestor.delete(document_id=document_id, allowed=lambda c: c == connector.collection)
        except NotFound:
            pass  # deleted by hand meanwhile
