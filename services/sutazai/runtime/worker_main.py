"""`sutazai worker <service>`: run a service's background worker until SIGTERM."""

from __future__ import annotations

import asyncio
import importlib
import signal
from contextlib import AsyncExitStack

from fastapi import FastAPI

from sutazai.lib.logging import configure_logging
from sutazai.lib.settings import CommonSettings
from sutazai.lib.worker import Worker

WORKER_SERVICES = ("knowledge", "learning", "metacognition")


async def run_worker(service: str) -> None:
    if service not in WORKER_SERVICES:
        raise ValueError(f"no worker for {service!r}; choose one of {', '.join(WORKER_SERVICES)}")
    settings_module = importlib.import_module(f"sutazai.{service}.settings")
    app_module = importlib.import_module(f"sutazai.{service}.app")
    jobs = importlib.import_module(f"sutazai.{service}.jobs")
    settings: CommonSettings = settings_module.get_settings()
    configure_logging(settings.log_level)
    from sutazai.lib.service_runtime import standard_lifespan

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    holder = FastAPI()
    lifespan = standard_lifespan(settings, schema=service, migrations_dir=app_module.MIGRATIONS)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(lifespan(holder))
        resources = holder.state.resources
        worker = Worker(bus=resources.bus, stream=jobs.STREAM, group=jobs.GROUP,
                        handlers=jobs.handlers(resources))
        await worker.run(stop)


def main(service: str) -> None:
    asyncio.run(run_worker(service))
