"""Background jobs of the learning service: the stream its worker consumes and the handler for
each event type. Features register their handlers here; an event with no handler is
dead-lettered with the reason, never silently dropped."""

from __future__ import annotations

from fastapi import FastAPI

from sutazai.lib.bus import Handler

STREAM = "learning.jobs"
GROUP = "learning-workers"


def handlers(app: FastAPI) -> dict[str, Handler]:
    """Event type -> handler, bound to the started app's resources."""
    del app
    return {}
