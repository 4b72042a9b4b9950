"""`sutazai worker <service>`: run a service's background worker until SIGTERM."""

from __future__ import annotations

import asyncio
import importlib
import signal

from sutazai.lib.logging import configure_logging
from sutazai.lib.worker import Worker

WORKER_SERVICES = ("knowledge", "learning", "metacognition")


async def run_worker(service: str) -> None:
    """Start the service's components with its `wiring` (no HTTP app) and consume its streams,
    one worker loop each."""
    if service not in WORKER_SERVICES:
        raise ValueError(f"no worker for {service!r}; choose one of {', '.join(WORKER_SERVICES)}")
    settings = importlib.import_module(f"sutazai.{service}.settings").get_settings()
    configure_logging(settings.log_level)
    if hasattr(settings, "inprocess_worker"):
        settings = settings.model_copy(update={"inprocess_worker": False})
    wiring = importlib.import_module(f"sutazai.{service}.wiring")
    jobs = importlib.import_module(f"sutazai.{service}.jobs")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with wiring.started(settings) as components:
        claim_idle_ms = getattr(settings, "worker_claim_idle_ms", 30_000)
        workers = [Worker.of(queue, bus=components.resources.bus, claim_idle_ms=claim_idle_ms)
                   for queue in jobs.queues(components)]
        await asyncio.gather(*(worker.run(stop) for worker in workers))


def main(service: str) -> None:
    asyncio.run(run_worker(service))
