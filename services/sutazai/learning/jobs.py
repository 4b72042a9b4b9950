"""Background jobs of the learning service: the stream its worker consumes and the handler for
each event type. Features register their handlers here; an event with no handler is
dead-lettered with the reason, never silently dropped."""

from __future__ import annotations

import uuid

from sutazai.learning.evaluation_runs import RUN_EVENT
from sutazai.learning.wiring import LearningComponents
from sutazai.lib.bus import Event, Handler
from sutazai.lib.wiring import WorkerSpec
from sutazai.lib.worker import Queue

STREAM = "learning.jobs"  # = runs.STREAM
GROUP = "learning-workers"


def handlers(components: LearningComponents) -> dict[str, Handler]:
    """Event type -> handler, bound to the started service's components."""

    async def run_cases(event: Event) -> None:
        await components.runs.step(uuid.UUID(str(event.data["run_id"])))

    return {RUN_EVENT: run_cases}


def queues(components: LearningComponents) -> list[Queue]:
    """The streams `sutazai worker learning` consumes."""
    return [Queue(STREAM, GROUP, handlers(components))]


WORKER = WorkerSpec(queues=queues)
