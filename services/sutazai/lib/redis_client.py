"""Redis connections from one URL: a plain server (`redis://`) or a master found through
Sentinel (`redis+sentinel://:password@host1:26379,host2:26379/<master-name>/<db>`), so a
failover moves clients to the new master without a configuration change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis import exceptions as rx
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel
from redis.backoff import ExponentialBackoff

from sutazai.lib.errors import DependencyTimeout, DependencyUnavailable, ErrorMapping

SENTINEL_SCHEME = "redis+sentinel"

REDIS_ERRORS: ErrorMapping = (
    (MasterNotFoundError, lambda e: DependencyUnavailable(f"no Redis master is known to the sentinels ({e}); "
                                                          "a failover may be under way")),
    (rx.ReadOnlyError, lambda e: DependencyUnavailable(f"Redis answered as a read-only replica ({e}); "
                                                       "a failover may be under way")),
    (rx.OutOfMemoryError, lambda e: DependencyUnavailable(
        f"Redis is out of memory ({e}): raise its maxmemory or the container's memory limit; nothing "
        "acknowledged before was lost")),
    (rx.TimeoutError, lambda e: DependencyTimeout(f"Redis did not answer in time: {e}")),
    (rx.BusyLoadingError, lambda e: DependencyUnavailable(f"Redis is still loading its data: {e}")),
    (rx.ConnectionError, lambda e: DependencyUnavailable(f"Redis is unavailable: {e}")),
    (OSError, lambda e: DependencyUnavailable(f"Redis is unreachable: {e}")),
)
"""How Redis's errors reach callers: outages, failovers and timeouts as 503/504. Other replies
(wrong command, wrong type) are defects and stay as they are."""


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: list[tuple[str, int]]
    master: str
    db: int
    password: str | None


def parse_sentinel_url(url: str) -> SentinelTarget:
    """Parse a redis+sentinel URL; raise ValueError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        raise ValueError(f"not a {SENTINEL_SCHEME}:// URL")
    netloc = parts.netloc.rsplit("@", 1)
    auth, hosts = (netloc[0], netloc[1]) if len(netloc) == 2 else ("", netloc[0])
    password = unquote(auth.split(":", 1)[1]) if ":" in auth else (unquote(auth) or None)
    sentinels = []
    for host in filter(None, hosts.split(",")):
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise ValueError(f"sentinel address {host!r} must be host:port")
        sentinels.append((name, int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not sentinels or not path:
        raise ValueError("use redis+sentinel://:password@host:26379[,host:26379...]/<master>[/<db>]")
    db = int(path[1]) if len(path) > 1 and path[1].isdigit() else 0
    return SentinelTarget(sentinels, path[0], db, password or None)


def resilient_options() -> dict[str, Any]:
    """Retry a command whose connection broke (a restarted or failed-over server) three times,
    50 ms apart and doubling, on a fresh connection; check connections idle for 15 s before use.
    Only connection errors and timeouts are retried. A retried XADD may rarely be stored twice:
    the bus delivers at least once, and every handler is idempotent."""
    return {"retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
            "retry_on_error": [rx.ConnectionError, rx.TimeoutError], "health_check_interval": 15}


def redis_from_url(url: str, *, connect_timeout: float = 3, timeout: float = 10) -> aioredis.Redis:
    """A client for `url`; with Sentinel, the client follows the current master."""
    if url.startswith(f"{SENTINEL_SCHEME}://"):
        target = parse_sentinel_url(url)
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            target.sentinels, socket_timeout=connect_timeout,
            sentinel_kwargs={"password": target.password, "socket_timeout": connect_timeout},
        )
        client: aioredis.Redis = sentinel.master_for(
            target.master, db=target.db, password=target.password,
            socket_connect_timeout=connect_timeout, socket_timeout=timeout, **resilient_options(),
        )
        _sentinels[id(client)] = sentinel
        return client
    return aioredis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout, **resilient_options())


_sentinels: dict[int, Sentinel] = {}


async def close_redis(client: aioredis.Redis) -> None:
    """Close the client and, for Sentinel clients, the connections to the sentinels."""
    await client.aclose()
    sentinel = _sentinels.pop(id(client), None)
    if sentinel is not None:
        for node in sentinel.sentinels:
            await node.aclose()
