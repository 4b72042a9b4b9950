"""The worker loop on a real Redis: dispatch by type, unknown types dead-lettered at once,
heartbeat written, clean stop."""

import asyncio
from pathlib import Path

import redis.asyncio as aioredis

from sutazai.lib.bus import Event, EventBus
from sutazai.lib.worker import Worker, heartbeat_age
from tests.integration.conftest import Backends


async def test_worker_dispatches_and_dead_letters_unknown_types(backends: Backends, tmp_path: Path) -> None:
    client = aioredis.from_url(backends.redis.url())
    bus = EventBus(client)
    seen: list[dict[str, object]] = []

    async def on_ping(event: Event) -> None:
        seen.append(event.data)

    stream = "test.worker.jobs"
    await bus.publish(stream, "ping", {"n": 1})
    await bus.publish(stream, "mystery", {"n": 2})
    heartbeat = tmp_path / "hb"
    worker = Worker(bus=bus, stream=stream, group="g", handlers={"ping": on_ping}, heartbeat=heartbeat)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(50):
        if seen and await client.xlen(f"{stream}:dead"):
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert seen == [{"n": 1}]
    dead = await client.xrange(f"{stream}:dead")
    assert dead[0][1][b"reason"] == b"no handler for event type 'mystery'"
    age = heartbeat_age(heartbeat)
    assert age is not None and age < 10
    await client.aclose()
