"""Background jobs of the knowledge service: the stream its worker consumes and the handler
for each event type. An event with no handler is dead-lettered with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sutazai.knowledge.ingest import INGEST_EVENT, JOB_STREAM
from sutazai.lib.bus import Event, Handler

if TYPE_CHECKING:
    from sutazai.knowledge.wiring import KnowledgeComponents

STREAM = JOB_STREAM
GROUP = "knowledge-workers"


def handlers(components: KnowledgeComponents) -> dict[str, Handler]:
    """Event type -> handler, bound to the started service's ingestor."""
    ingestor, max_attempts = components.ingestor, components.settings.worker_max_attempts

    async def ingest(event: Event) -> None:
        await ingestor.process(str(event.data["job_id"]), final_attempt=event.deliveries >= max_attempts)

    return {INGEST_EVENT: ingest}
