"""Rate limits on authentication, shared by every process of every service through Redis
(fixed one-minute windows):

- failed credentials per client address: after `failures_per_minute` refusals, that address is
  refused with 429 until the window ends, even with a valid credential (slows guessing and
  credential stuffing; sign-in through the web UI is one such attempt);
- requests per API key: more than `requests_per_minute` uses of one key in a window get 429.

When Redis does not answer, the limits are not enforced (logged): an outage of the cache must
not lock everyone out."""

from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from sutazai.lib.errors import RateLimited

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


class AuthLimits:
    def __init__(self, redis: aioredis.Redis, *, failures_per_minute: int, requests_per_minute: int) -> None:
        self._redis = redis
        self.failures_per_minute, self.requests_per_minute = failures_per_minute, requests_per_minute

    @staticmethod
    def _window() -> tuple[int, int]:
        now = int(time.time())
        return now // WINDOW_SECONDS, WINDOW_SECONDS - now % WINDOW_SECONDS

    async def _count(self, key: str, *, add: int) -> int | None:
        try:
            if add:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.incrby(key, add)
                    pipe.expire(key, WINDOW_SECONDS * 2)
                    counted, _ = await pipe.execute()
                return int(counted)
            value = await self._redis.get(key)
            return int(value or 0)
        except (RedisError, OSError) as exc:
            logger.warning("rate limits not enforced, Redis did not answer: %s", exc)
            return None

    async def check_address(self, address: str | None) -> None:
        """Refuse an address that failed too often in this window."""
        if not address or self.failures_per_minute <= 0:
            return
        window, left = self._window()
        failures = await self._count(f"sutazai:auth-failures:{address}:{window}", add=0)
        if failures is not None and failures >= self.failures_per_minute:
            raise RateLimited(f"too many failed credentials from {address} ({failures} this minute); "
                              f"wait {left} s and check the key you are sending", retry_after=left)

    async def failed(self, address: str | None) -> None:
        if address and self.failures_per_minute > 0:
            window, _ = self._window()
            await self._count(f"sutazai:auth-failures:{address}:{window}", add=1)

    async def used(self, key_id: str | None) -> None:
        """Count one use of a key; refuse it past its limit in this window."""
        if not key_id or self.requests_per_minute <= 0:
            return
        window, left = self._window()
        uses = await self._count(f"sutazai:key-uses:{key_id}:{window}", add=1)
        if uses is not None and uses > self.requests_per_minute:
            raise RateLimited(f"API key {key_id} made more than {self.requests_per_minute} requests this minute "
                              f"(SUTAZAI_KEY_REQUESTS_PER_MINUTE); wait {left} s", retry_after=left)
