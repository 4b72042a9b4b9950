"""`sutazai worker <service>`: run a service's background worker until SIGTERM."""

from __future__ import annotations

import asyncio
import importlib
import signal

from sutazai.lib.logging import configure_logging
from sutazai.lib.wiring import run_workers

WORKER_SERVICES = ("knowledge", "learning", "metacognition")


async def run_worker(service: str) -> None:
    """Start the service's components (no HTTP app) and run the background work its ServiceSpec
    declares: one worker loop per stream, and the loops beside them."""
    if service not in WORKER_SERVICES:
        raise ValueError(f"no worker for {service!r}; choose one of {', '.join(WORKER_SERVICES)}")
    settings = importlib.import_module(f"sutazai.{service}.settings").get_settings()
    configure_logging(settings.log_level)
    if hasattr(settings, "inprocess_worker"):
        settings = settings.model_copy(update={"inprocess_worker": False})
    spec = importlib.import_module(f"sutazai.{service}.app").SPEC
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with spec.start(settings) as components:
        await run_workers(spec.worker, components, stop, service=service,
                          claim_idle_ms=getattr(settings, "worker_claim_idle_ms", 30_000))


def main(service: str) -> None:
    asyncio.run(run_worker(service))
