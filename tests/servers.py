"""Real servers for tests, started on 127.0.0.1 from the same wheels `make up` uses."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from sutazai.runtime.postgres import EmbeddedPostgres
from sutazai.runtime.processes import free_port
from sutazai.runtime.redis_server import EmbeddedRedis


@contextmanager
def running_postgres(root: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(root / "postgres", free_port(), root / "postgres.password")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.purge()  # under root its files live outside `root` (see sutazai.runtime.postgres)


@contextmanager
def running_redis(root: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(root / "redis", free_port(), root / "redis.password")
    server.start()
    try:
        yield server
    finally:
        server.stop()


class ServerThread:
    """An ASGI app served by uvicorn on a free loopback port in a background thread."""

    def __init__(self, app: ASGIApp, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("test server failed to start; see the captured log")
            if time.monotonic() > deadline:
                raise TimeoutError("test server did not start within 120s")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
