"""Background jobs of the knowledge service: two streams, each with its own consumer group and
worker loop, so indexing (which makes a document searchable) never waits behind graph
extraction (which reads every chunk with the model). An event with no handler is
dead-lettered with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sutazai.knowledge.ingest import EXTRACT_EVENT, GRAPH_STREAM, INGEST_EVENT, JOB_STREAM
from sutazai.lib.bus import Event, Handler
from sutazai.lib.worker import Queue

if TYPE_CHECKING:
    from sutazai.knowledge.wiring import KnowledgeComponents

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
