"""Background jobs of the learning service: the stream its worker consumes and the handler for
each event type. Features register their handlers here; an event with no handler is
dead-lettered with the reason, never silently dropped."""

from __future__ import annotations

from sutazai.learning.wiring import LearningComponents
from sutazai.lib.bus import Handler
from sutazai.lib.worker import Queue

STREAM = "learning.jobs"
GROUP = "learning-workers"


def handlers(components: LearningComponents) -> dict[str, Handler]:
    """Event type -> handler, bound to the started service's components (none yet)."""
    del components
    return {}


def queues(components: LearningComponents) -> list[Queue]:
    """The streams `sutazai worker learning` consumes."""
    return [Queue(STREAM, GROUP, handlers(components))]
