"""Redis connections from one URL: a plain server (`redis://`) or a master found through
Sentinel (`redis+sentinel://:password@host1:26379,host2:26379/<master-name>/<db>`), so a
failover moves clients to the new master without a configuration change."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"


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
            socket_connect_timeout=connect_timeout, socket_timeout=timeout,
        )
        _sentinels[id(client)] = sentinel
        return client
    return aioredis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout)


_sentinels: dict[int, Sentinel] = {}


async def close_redis(client: aioredis.Redis) -> None:
    """Close the client and, for Sentinel clients, the connections to the sentinels."""
    await client.aclose()
    sentinel = _sentinels.pop(id(client), None)
    if sentinel is not None:
        for node in sentinel.sentinels:
            await node.aclose()
