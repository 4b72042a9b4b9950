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


async def test_the_worker_outlives_a_redis_restart_and_goes_on_consuming(backends: Backends, tmp_path: Path) -> None:
    """A Redis restart under a running worker used to end its loop for good (later jobs stayed
    queued forever); now it logs, pauses and reconnects."""
    client = aioredis.from_url(backends.redis.url())
    bus = EventBus(client)
    seen: list[object] = []

    async def on_job(event: Event) -> None:
        seen.append(event.data["n"])

    stream = "test.worker.restart"
    worker = Worker(bus=bus, stream=stream, group="g", handlers={"job": on_job}, heartbeat=tmp_path / "hb")
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await bus.publish(stream, "job", {"n": 1})
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.1)
    assert seen == [1]
    backends.redis.stop()
    for _ in range(200):  # until the worker has met the outage (its consume failed), not a guessed pause
        if worker.backend_errors:
            break
        await asyncio.sleep(0.05)
    assert worker.backend_errors >= 1, "the worker never noticed Redis was down"
    backends.redis.start()
    for _ in range(100):
        try:
            await bus.publish(stream, "job", {"n": 2})
            break
        except Exception:  # noqa: BLE001 - the server is still coming up
            await asyncio.sleep(0.2)
    for _ in range(150):
        if 2 in seen:
            break
        await asyncio.sleep(0.2)
    assert not task.done(), "the worker loop ended"
    stop.set()
    await asyncio.wait_for(task, timeout=20)
    assert seen == [1, 2]
    await client.aclose()
