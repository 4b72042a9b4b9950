"""The event bus: Redis Streams with consumer groups. A consumer acknowledges an event only
after its handler succeeded, so a killed worker loses nothing; a restarted one first reclaims
what it (or a dead peer) left pending, then reads new events."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from sutazai.lib.errors import translated
from sutazai.lib.redis_client import REDIS_ERRORS

logger = logging.getLogger(__name__)

Handler = Callable[["Event"], Awaitable[None]]


class PermanentFailure(Exception):
    """Raised by a handler for an event that can never succeed: it is dead-lettered at once."""


@dataclass(frozen=True)
class Event:
    id: str
    stream: str
    type: str
    data: dict[str, Any]
    deliveries: int = 1


class EventBus:
    """Publish and consume JSON events on Redis Streams."""

    def __init__(self, client: aioredis.Redis, *, max_deliveries: int = 5) -> None:
        self._redis = client
        self._max_deliveries = max_deliveries

    async def publish(self, stream: str, event_type: str, data: dict[str, Any]) -> str:
        """Append an event; returns its stream id once Redis has it."""
        fields = {"type": event_type, "data": json.dumps(data, separators=(",", ":"))}
        with translated(REDIS_ERRORS):
            event_id = await self._redis.xadd(stream, fields)  # type: ignore[arg-type]
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    async def ensure_group(self, stream: str, group: str) -> None:
        try:
            with translated(REDIS_ERRORS):
                await self._redis.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def consume_once(
        self, stream: str, group: str, consumer: str, handler: Handler, *,
        count: int = 10, block_ms: int = 1000, min_idle_ms: int = 30_000,
    ) -> int:
        """Handle reclaimed (idle pending) events, then new ones; returns how many were acked."""
        await self.ensure_group(stream, group)
        with translated(REDIS_ERRORS):
            claimed: Any = await self._redis.xautoclaim(stream, group, consumer, min_idle_ms, "0-0", count=count)
            entries: list[Any] = list(claimed[1]) if claimed else []
            if not entries:
                reply: Any = await self._redis.xreadgroup(group, consumer, {stream: ">"}, count=count,
                                                          block=block_ms)
                entries = [entry for _, batch in reply for entry in batch] if reply else []
        acked = 0
        for raw_id, fields in entries:
            if fields is None:  # deleted while pending
                await self._redis.xack(stream, group, raw_id)
                continue
            acked += await self._handle(stream, group, raw_id, fields, handler)
        return acked

    async def _handle(
        self, stream: str, group: str, raw_id: bytes | str, fields: dict[Any, Any], handler: Handler
    ) -> int:
        event_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
        decoded = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                   for k, v in fields.items()}
        deliveries = await self._delivery_count(stream, group, event_id)
        event = Event(event_id, stream, decoded.get("type", ""), json.loads(decoded.get("data", "{}")), deliveries)
        try:
            await handler(event)
        except PermanentFailure as exc:
            logger.warning("dead-lettering %s %s: %s", stream, event_id, exc)
            await self._dead_letter(stream, group, event, str(exc))
            return 1
        except Exception:
            logger.exception("handler failed for %s %s (delivery %d)", stream, event_id, deliveries)
            if deliveries >= self._max_deliveries:
                await self._dead_letter(stream, group, event, "handler kept failing")
                return 1
            return 0
        await self._redis.xack(stream, group, event_id)
        return 1

    async def _delivery_count(self, stream: str, group: str, event_id: str) -> int:
        pending = await self._redis.xpending_range(stream, group, min=event_id, max=event_id, count=1)
        return int(pending[0]["times_delivered"]) if pending else 1

    async def _dead_letter(self, stream: str, group: str, event: Event, reason: str) -> None:
        await self._redis.xadd(f"{stream}:dead", {
            "type": event.type, "data": json.dumps(event.data), "reason": reason,
            "original_id": event.id, "group": group,
        })
        await self._redis.xack(stream, group, event.id)

    async def ping(self) -> None:
        with translated(REDIS_ERRORS):
            await self._redis.ping()
