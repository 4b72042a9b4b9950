"""One ASGI app that serves every service under its own prefix, exactly as HAProxy routes
them in production (paths are passed through unchanged); what no prefix claims goes to the
fallback service (the web UI), as HAProxy's default backend does."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sutazai import __version__

logger = logging.getLogger(__name__)


class Gateway:
    """Dispatch by path prefix; run every service's lifespan on startup and shutdown."""

    def __init__(self, services: Sequence[tuple[str, Sequence[str], FastAPI]], *,
                 fallback: str | None = None) -> None:
        self.services = services
        self._routes = sorted(
            ((prefix, app) for _, prefixes, app in services for prefix in prefixes),
            key=lambda item: len(item[0]), reverse=True,
        )
        self._root = Starlette(routes=[
            Route("/", self._index), Route("/api", self._index), Route("/healthz", self._healthz),
        ])
        apps = {name: app for name, _, app in services}
        if fallback is not None and fallback not in apps:
            raise ValueError(f"fallback {fallback!r} is not one of the services")
        self._fallback: FastAPI | None = apps[fallback] if fallback else None

    async def _index(self, _: Request) -> JSONResponse:
        return JSONResponse({
            "name": "SutazAI", "version": __version__,
            "services": {
                name: {"prefixes": list(prefixes), "docs": f"{prefixes[0]}/docs",
                       "readyz": f"{prefixes[0]}/readyz"}
                for name, prefixes, _ in self.services
            },
        })

    async def _healthz(self, _: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        for prefix, app in self._routes:
            if path == prefix or path.startswith(prefix + "/"):
                await app(scope, receive, send)
                return
        if self._fallback is not None and path not in ("/api", "/healthz"):
            await self._fallback(scope, receive, send)
            return
        await self._root(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        stack = AsyncExitStack()
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for name, _, app in self.services:
                        logger.info("starting %s", name)
                        await stack.enter_async_context(app.router.lifespan_context(app))
                except Exception as exc:  # noqa: BLE001 - reported to the server, then re-raised
                    logger.exception("startup failed")
                    await stack.aclose()
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await stack.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
