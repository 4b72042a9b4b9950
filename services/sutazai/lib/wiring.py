"""How a service gets its process-wide clients: wait for PostgreSQL and Redis with a bounded
retry, apply the service's migrations, and hand the open `Resources` to the service's own
`wiring.build(settings, resources)`, which returns its typed components. The HTTP app's
lifespan and the service's worker both start a service this way; everything opened is closed
in reverse order when it stops."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from sutazai.lib import migrations
from sutazai.lib.bus import EventBus
from sutazai.lib.db import Database
from sutazai.lib.errors import DependencyUnavailable
from sutazai.lib.http_client import ResilientClient
from sutazai.lib.identity_client import IdentityKeyVerifier
from sutazai.lib.ratelimit import AuthLimits
from sutazai.lib.redis_client import close_redis, redis_from_url
from sutazai.lib.revocations import RevocationListener
from sutazai.lib.security import Authenticator, TokenCodec
from sutazai.lib.settings import CommonSettings
from sutazai.lib.worker import Queue, Worker

logger = logging.getLogger(__name__)
T = TypeVar("T")
ReadinessCheck = Callable[[], Awaitable[None]]


class ServiceContainer(Protocol):
    """What every service's components offer the app around them: the readiness checks."""

    def readiness(self) -> Mapping[str, ReadinessCheck]: ...


@dataclass(frozen=True)
class Resources:
    """Process-wide clients of one service, and the stack that closes them (and whatever the
    service's `build` registers) when the service stops."""

    db: Database
    redis: aioredis.Redis
    bus: EventBus
    closing: AsyncExitStack

    async def enter(self, context: AbstractAsyncContextManager[T]) -> T:
        """Enter `context` now and exit it when the service stops."""
        return await self.closing.enter_async_context(context)

    def on_close(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Await `callback` when the service stops (last registered, first run)."""
        self.closing.push_async_callback(callback)


@dataclass(frozen=True, kw_only=True)
class ServiceComponents:
    """Base of every database-backed service's components: its resources and authenticator."""

    resources: Resources
    authenticator: Authenticator

    def readiness(self) -> dict[str, ReadinessCheck]:
        """Checks named as they appear in /readyz; services add their own backends."""
        return {"postgres": self.resources.db.ping, "redis": self.resources.bus.ping,
                "identity": self.authenticator.ready}


async def _connect_redis(url: str, timeout: float) -> aioredis.Redis:
    client = redis_from_url(url)
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(timeout), wait=wait_fixed(0.5),
            retry=retry_if_exception_type((RedisError, OSError)), reraise=True,
        ):
            with attempt:
                await client.ping()
    except (RedisError, OSError) as exc:
        await close_redis(client)
        raise DependencyUnavailable(
            f"Redis did not answer within {timeout:.0f}s ({exc}); check SUTAZAI_REDIS_URL "
            "and that the server is running"
        ) from exc
    return client


@asynccontextmanager
async def open_resources(settings: CommonSettings, *, schema: str, migrations_dir: Path) -> AsyncIterator[Resources]:
    """PostgreSQL (migrated to the service's head) and Redis, open until the block ends."""
    async with AsyncExitStack() as stack:
        timeout = settings.startup_timeout_seconds
        dsn = settings.database_url.get_secret_value()
        db = Database(dsn, max_size=settings.database_pool_max)
        stack.push_async_callback(db.close)
        await db.open(timeout=timeout)
        await asyncio.to_thread(migrations.upgrade, dsn=dsn, schema=schema, script_location=migrations_dir)
        redis = await _connect_redis(settings.redis_url.get_secret_value(), timeout)
        stack.push_async_callback(close_redis, redis)
        yield Resources(db=db, redis=redis, bus=EventBus(redis), closing=stack)


def token_codec(settings: CommonSettings) -> TokenCodec | None:
    secret = settings.jwt_secret.get_secret_value()
    return TokenCodec(secret, settings.jwt_ttl_seconds) if secret else None


def identity_authenticator(settings: CommonSettings, resources: Resources) -> Authenticator:
    """Services other than identity verify API keys by asking identity over HTTP."""
    client = ResilientClient(settings.identity_url, name="identity service", timeout=5)
    resources.on_close(client.close)
    verifier = IdentityKeyVerifier(client, cache_seconds=settings.introspection_cache_seconds)
    if verifier.caching:  # a revocation evicts what the cache holds for it, at once
        listener = RevocationListener(resources.redis, verifier.evict)
        listener.start()
        resources.on_close(listener.stop)
    return Authenticator(verifier=verifier, codec=token_codec(settings), limits=auth_limits(settings, resources))


def auth_limits(settings: CommonSettings, resources: Resources) -> AuthLimits:
    return AuthLimits(resources.redis, failures_per_minute=settings.auth_failures_per_minute,
                      requests_per_minute=settings.key_requests_per_minute)


S = TypeVar("S", bound=CommonSettings)
C = TypeVar("C")


@asynccontextmanager
async def started(
    settings: S, *, schema: str, migrations_dir: Path, build: Callable[[S, Resources], Awaitable[C]],
) -> AsyncIterator[C]:
    """Open the resources, build the service's components, and close everything on exit:
    what a service's HTTP lifespan and its worker both run."""
    async with open_resources(settings, schema=schema, migrations_dir=migrations_dir) as resources:
        components = await build(settings, resources)
        logger.info("%s started", settings.service_name)
        yield components


Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
"""A background loop beside a service's workers (e.g. re-publishing lost job events), run until
the event is set."""


@dataclass(frozen=True)
class WorkerSpec:
    """A service's background work, declared on its ServiceSpec: the queues its worker consumes,
    the loops that run beside them, and where the started tasks are reported (for a health
    check). `sutazai worker <service>` and the embedded stack's in-process worker both start it
    through `run_workers`/`start_workers`, so neither the service's wiring nor its jobs module
    starts anything itself."""

    queues: Callable[[Any], Sequence[Queue]]
    loops: Callable[[Any], Sequence[Loop]] | None = None
    track: Callable[[Any, Sequence[asyncio.Task[None]]], None] | None = None


def _workers(spec: WorkerSpec, components: Any, *, service: str, claim_idle_ms: int,
             heartbeats: Path | None) -> list[Worker]:
    bus = components.resources.bus
    return [Worker.of(queue, bus=bus, claim_idle_ms=claim_idle_ms, **({"heartbeat": heartbeats / (
        f"sutazai-{service}-{os.getpid()}-{id(components):x}-{n}.heartbeat")} if heartbeats else {}))
        for n, queue in enumerate(spec.queues(components))]


def start_workers(spec: WorkerSpec, components: Any, *, service: str, claim_idle_ms: int) -> list[asyncio.Task[None]]:
    """The embedded stack runs a service's worker inside the service process: one consumer per
    queue, each with its own heartbeat file, and the loops beside them; stopped (finishing or
    leaving pending what they hold) when the service's resources close."""
    stop = asyncio.Event()
    workers = _workers(spec, components, service=service, claim_idle_ms=claim_idle_ms,
                       heartbeats=Path(tempfile.gettempdir()))
    tasks = [*(asyncio.create_task(w.run(stop)) for w in workers),
             *(asyncio.create_task(loop(stop)) for loop in (spec.loops(components) if spec.loops else ()))]
    if spec.track is not None:
        spec.track(components, tasks)

    async def shutdown() -> None:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    components.resources.on_close(shutdown)
    return tasks


async def run_workers(spec: WorkerSpec, components: Any, stop: asyncio.Event, *, service: str,
                      claim_idle_ms: int) -> None:
    """`sutazai worker <service>`: the same workers and loops in the foreground until `stop`."""
    workers = _workers(spec, components, service=service, claim_idle_ms=claim_idle_ms, heartbeats=None)
    loops = spec.loops(components) if spec.loops else ()
    await asyncio.gather(*(w.run(stop) for w in workers), *(loop(stop) for loop in loops))
