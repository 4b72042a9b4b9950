"""Background jobs of the metacognition service: the streams its worker consumes and the handler
for each event type — reasoning's `trace.completed` (one observation per answered question) and
learning's `feedback.given` (a rating) feed the monitors. An event with no handler is
dead-lettered with the reason, never silently dropped."""

from __future__ import annotations

from sutazai.lib.bus import Event, Handler
from sutazai.lib.wiring import WorkerSpec
from sutazai.lib.worker import Queue
from sutazai.metacognition.wiring import MetacognitionComponents

STREAM = "metacognition.jobs"
GROUP = "metacognition-workers"
TRACES = "reasoning.traces"  # reasoning's TRACE_STREAM
FEEDBACK = "learning.feedback"  # learning's FEEDBACK_STREAM
MONITORS = "metacognition-monitors"


def handlers(components: MetacognitionComponents) -> dict[str, Handler]:
    """Event type -> handler, bound to the started service's components."""

    async def observed(event: Event) -> None:
        await components.monitors.observed(event.data)

    async def rated(event: Event) -> None:
        await components.monitors.rated(event.data)

    return {"trace.completed": observed, "feedback.given": rated}


def queues(components: MetacognitionComponents) -> list[Queue]:
    """The streams `sutazai worker metacognition` consumes."""
    every = handlers(components)
    return [Queue(STREAM, GROUP, {}), Queue(TRACES, MONITORS, {"trace.completed": every["trace.completed"]}),
            Queue(FEEDBACK, MONITORS, {"feedback.given": every["feedback.given"]})]


WORKER = WorkerSpec(queues=queues)
