"""Background jobs of the knowledge service: two streams, each with its own consumer group and
worker loop, so indexing (which makes a document searchable) never waits behind graph
extraction (which reads every chunk with the model). An event with no handler is
dead-lettered with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sutazai.knowledge.ingest import EXTRACT_EVENT, GRAPH_STREAM, INGEST_EVENT, JOB_STREAM
from sutazai.lib.bus import Event, Handler
from sutazai.lib.wiring import Loop, WorkerSpec
from sutazai.lib.worker import Queue

if TYPE_CHECKING:
    from sutazai.knowledge.wiring import KnowledgeComponents

logger = logging.getLogger(__name__)
STREAM = JOB_STREAM
GROUP = "knowledge-workers"
GRAPH_GROUP = "knowledge-graph-workers"


def handlers(components: KnowledgeComponents) -> dict[str, Handler]:
    """Event type -> handler, bound to the started service's ingestor (the job's row says which
    stage it is)."""
    ingestor, max_attempts = components.ingestor, components.settings.worker_max_attempts

    async def run_job(event: Event) -> None:
        await ingestor.process(str(event.data["job_id"]), final_attempt=event.deliveries >= max_attempts)

    return {INGEST_EVENT: run_job, EXTRACT_EVENT: run_job}


def queues(components: KnowledgeComponents) -> list[Queue]:
    """Indexing jobs, and graph extraction jobs, each on its own stream."""
    bound = handlers(components)
    return [Queue(STREAM, GROUP, {INGEST_EVENT: bound[INGEST_EVENT]}),
            Queue(GRAPH_STREAM, GRAPH_GROUP, {EXTRACT_EVENT: bound[EXTRACT_EVENT]})]


def loops(components: KnowledgeComponents) -> list[Loop]:
    """Beside the workers: re-publish jobs still queued long after they were committed (their event
    may have been lost while Redis was down), and sync the connectors that are due."""
    ingestor, every = components.ingestor, components.settings.requeue_after_seconds
    syncer, poll = components.syncer, components.settings.connector_poll_seconds

    async def sync_connectors(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await syncer.run_due()
            except Exception:  # noqa: BLE001 - the loop outlives a backend outage; the next round retries
                logger.warning("syncing connectors failed; retried in %.0f s", poll, exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll)

    async def requeue(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await ingestor.requeue_stale(older_than_seconds=every)
            except Exception:  # noqa: BLE001 - the loop outlives a backend outage; the next round retries
                logger.warning("re-publishing stale ingestion jobs failed; retried in %.0f s", every / 2,
                               exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every / 2)

    return [requeue, sync_connectors]


def track(components: KnowledgeComponents, tasks: Sequence[asyncio.Task[None]]) -> None:
    """The ingestion health check watches the worker tasks this process runs."""
    components.ingestion.tasks.extend(tasks)


WORKER = WorkerSpec(queues=queues, loops=loops, track=track)
