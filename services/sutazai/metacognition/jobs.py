"""Background jobs of the metacognition service: the stream its worker consumes and the handler for
each event type. Features register their handlers here; an event with no handler is
dead-lettered with the reason, never silently dropped."""

from __future__ import annotations

from sutazai.lib.bus import Handler
from sutazai.lib.worker import Queue
from sutazai.metacognition.wiring import MetacognitionComponents

STREAM = "metacognition.jobs"
GROUP = "metacognition-workers"


def handlers(components: MetacognitionComponents) -> dict[str, Handler]:
    """Event type -> handler, bound to the started service's components (none yet)."""
    del components
    return {}


def queues(components: MetacognitionComponents) -> list[Queue]:
    """The streams `sutazai worker metacognition` consumes."""
    return [Queue(STREAM, GROUP, handlers(components))]
