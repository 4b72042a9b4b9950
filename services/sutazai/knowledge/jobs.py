"""Background jobs of the knowledge service: the stream its worker consumes and the handler
for each event type. An event with no handler is dead-lettered with the reason."""

from __future__ import annotations

from fastapi import FastAPI

from sutazai.knowledge.ingest import INGEST_EVENT, JOB_STREAM, Ingestor
from sutazai.lib.bus import Event, Handler

STREAM = JOB_STREAM
GROUP = "knowledge-workers"


def handlers(app: FastAPI) -> dict[str, Handler]:
    """Event type -> handler, bound to the started app's ingestor."""
    return ingestion_handlers(app.state.ingestor, max_attempts=app.state.settings.worker_max_attempts)


def ingestion_handlers(ingestor: Ingestor, *, max_attempts: int) -> dict[str, Handler]:

    async def ingest(event: Event) -> None:
        await ingestor.process(str(event.data["job_id"]), final_attempt=event.deliveries >= max_attempts)

    return {INGEST_EVENT: ingest}
