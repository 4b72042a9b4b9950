"""Revocations on the bus (lib/contracts/identity.py): identity publishes them, every other
service's process listens and evicts its introspection cache. Best effort by design: a publish
that fails is logged and the change stands (the cache's lifetime still bounds what follows); a
listener that loses Redis subscribes again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from pydantic import ValidationError

from sutazai.lib.contracts.identity import REVOCATIONS, Revocation

logger = logging.getLogger("sutazai.revocations")


async def publish_revocation(redis: aioredis.Redis, revocation: Revocation) -> int:
    """Tell every listening process; returns how many received it (0 when the bus is down)."""
    try:
        return int(await redis.publish(REVOCATIONS, revocation.model_dump_json(exclude_none=True)))
    except (aioredis.RedisError, OSError) as exc:
        logger.warning("revocation not broadcast (%s): other services accept the credential until their "
                       "cache entry expires", exc)
        return 0


class RevocationListener:
    """Subscribes to REVOCATIONS and hands each revocation to `on_revocation`, subscribing again
    (after `retry_seconds`) whenever the connection is lost."""

    def __init__(self, redis: aioredis.Redis, on_revocation: Callable[[Revocation], object], *,
                 retry_seconds: float = 1.0) -> None:
        self._redis, self._on, self._retry = redis, on_revocation, retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="revocation-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(REVOCATIONS)
                    self.subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._handle(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any loss of the bus: subscribe again
                self.subscribed.clear()
                logger.warning("revocation listener lost the bus (%s); subscribing again", exc)
                await asyncio.sleep(self._retry)

    def _handle(self, data: object) -> None:
        try:
            revocation = Revocation.model_validate_json(data if isinstance(data, (str, bytes)) else b"")
        except ValidationError:
            logger.warning("ignoring a malformed revocation: %r", data)
            return
        self._on(revocation)
