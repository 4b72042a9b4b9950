"""The worker loop every service's background worker runs: consume the service's job stream
through a consumer group, dispatch by event type, beat a heartbeat file, stop cleanly on
SIGTERM (an event being handled is finished or left pending, never lost)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sutazai.lib.bus import Event, EventBus, Handler, PermanentFailure

logger = logging.getLogger(__name__)
DEFAULT_HEARTBEAT = Path("/tmp/sutazai-worker.heartbeat")  # noqa: S108 - container-local
MIN_PAUSE, MAX_PAUSE = 0.5, 15.0  # seconds between attempts while a backend is failing


@dataclass(frozen=True)
class Queue:
    """One stream a service's worker consumes, as `group`, with a handler per event type."""

    stream: str
    group: str
    handlers: Mapping[str, Handler] = field(default_factory=dict)


class Worker:
    """Consumes `stream` as `group`, one consumer per process."""

    @classmethod
    def of(cls, queue: Queue, *, bus: EventBus, heartbeat: Path = DEFAULT_HEARTBEAT,
           claim_idle_ms: int = 30_000) -> Worker:
        return cls(bus=bus, stream=queue.stream, group=queue.group, handlers=queue.handlers,
                   heartbeat=heartbeat, claim_idle_ms=claim_idle_ms)

    def __init__(
        self, *, bus: EventBus, stream: str, group: str, handlers: Mapping[str, Handler],
        heartbeat: Path = DEFAULT_HEARTBEAT, consumer: str | None = None, claim_idle_ms: int = 30_000,
    ) -> None:
        self._claim_idle_ms = claim_idle_ms
        self._bus, self._stream, self._group = bus, stream, group
        self._handlers = dict(handlers)
        self._heartbeat = heartbeat
        self.consumer = consumer or f"{socket.gethostname()}-{id(self):x}"
        self.backend_errors = 0
        """How many times consuming failed on the backend (and the loop paused and went on)."""

    async def _dispatch(self, event: Event) -> None:
        handler = self._handlers.get(event.type)
        if handler is None:
            raise PermanentFailure(f"no handler for event type {event.type!r}")
        await handler(event)

    def beat(self) -> None:
        self._heartbeat.parent.mkdir(parents=True, exist_ok=True)
        self._heartbeat.write_text(str(time.time()))

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set. A backend error (Redis down, restarted, failing over)
        never ends the loop: it is logged, and consuming resumes after a growing pause (the
        client reconnects on its next command). Handler errors are the bus's to retry."""
        logger.info("worker %s consuming %s as %s (%s)", self.consumer, self._stream, self._group,
                    ", ".join(sorted(self._handlers)) or "no handlers yet")
        pause = MIN_PAUSE
        while not stop.is_set():
            self.beat()
            try:
                await self._bus.consume_once(self._stream, self._group, self.consumer, self._dispatch,
                                             block_ms=1000, min_idle_ms=self._claim_idle_ms)
            except Exception:  # noqa: BLE001 - the worker must outlive any backend failure
                self.backend_errors += 1
                logger.exception("worker %s could not consume %s; retrying in %.1f s", self.consumer,
                                 self._stream, pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
                pause = min(pause * 2, MAX_PAUSE)
            else:
                pause = MIN_PAUSE
        logger.info("worker %s stopped", self.consumer)


def heartbeat_age(path: Path = DEFAULT_HEARTBEAT) -> float | None:
    """Seconds since the worker last beat, or None if it never did."""
    try:
        return time.time() - float(path.read_text())
    except (OSError, ValueError):
        return None
