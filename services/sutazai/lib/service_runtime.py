"""The lifecycle every service shares: wait for PostgreSQL and Redis with a bounded retry,
apply the service's migrations, build its authenticator, and close it all on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis
from fastapi import FastAPI
from redis.exceptions import RedisError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from sutazai.lib import migrations
from sutazai.lib.bus import EventBus
from sutazai.lib.db import Database
from sutazai.lib.errors import DependencyUnavailable
from sutazai.lib.http_client import ResilientClient
from sutazai.lib.identity_client import IdentityKeyVerifier
from sutazai.lib.redis_client import close_redis, redis_from_url
from sutazai.lib.security import ApiKeyVerifier, Authenticator, TokenCodec
from sutazai.lib.settings import CommonSettings

logger = logging.getLogger(__name__)


@dataclass
class Resources:
    """Process-wide clients of one service, available as `app.state.resources`."""

    db: Database
    redis: aioredis.Redis
    bus: EventBus


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


def token_codec(settings: CommonSettings) -> TokenCodec | None:
    secret = settings.jwt_secret.get_secret_value()
    return TokenCodec(secret, settings.jwt_ttl_seconds) if secret else None


ExtraLifespan = Callable[[FastAPI, Resources, AsyncExitStack], Awaitable[None]]


def standard_lifespan(
    settings: CommonSettings,
    *,
    schema: str,
    migrations_dir: Path,
    verifier: Callable[[Resources], ApiKeyVerifier] | None = None,
    extra: ExtraLifespan | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that opens the shared resources, then runs the service's own `extra` setup.

    Services other than identity verify API keys by calling identity over HTTP."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            timeout = settings.startup_timeout_seconds
            dsn = settings.database_url.get_secret_value()
            db = Database(dsn, max_size=settings.database_pool_max)
            stack.push_async_callback(db.close)
            await db.open(timeout=timeout)
            await asyncio.to_thread(
                migrations.upgrade, dsn=dsn, schema=schema, script_location=migrations_dir
            )
            redis = await _connect_redis(settings.redis_url.get_secret_value(), timeout)
            stack.push_async_callback(close_redis, redis)
            resources = Resources(db=db, redis=redis, bus=EventBus(redis))
            app.state.resources = resources
            if verifier is None:
                client = ResilientClient(settings.identity_url, name="identity service", timeout=5)
                stack.push_async_callback(client.close)
                key_verifier: ApiKeyVerifier = IdentityKeyVerifier(
                    client, cache_seconds=settings.introspection_cache_seconds
                )
            else:
                key_verifier = verifier(resources)
            app.state.authenticator = Authenticator(verifier=key_verifier, codec=token_codec(settings))
            if extra is not None:
                await extra(app, resources, stack)
            logger.info("%s started", settings.service_name)
            yield

    return lifespan


def standard_readiness(app: FastAPI) -> dict[str, Callable[[], Awaitable[None]]]:
    """Readiness checks for the shared resources, named as they appear in /readyz."""

    def resources() -> Resources:
        found: Resources | None = getattr(app.state, "resources", None)
        if found is None:
            raise RuntimeError("service is still starting")
        return found

    async def postgres() -> None:
        await resources().db.ping()

    async def redis() -> None:
        await resources().bus.ping()

    return {"postgres": postgres, "redis": redis}
