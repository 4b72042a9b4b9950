"""The web service's FastAPI app: the UI at `/`, its assets under `/assets`, sign-in under
`/web/v1`. In `make up` it is the gateway's fallback; in Compose it is HAProxy's default backend."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.web import wiring
from sutazai.web.api import STATIC, pages, router
from sutazai.web.settings import WebSettings, get_settings

# Everything the UI loads comes from this origin; no inline script or style is allowed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_UI_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class UiHeaders:
    """Adds the UI's security headers to the pages and assets (not to the API docs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/web/"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + _UI_HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)


SPEC = ServiceSpec(name="web", prefixes=("/web",), start=wiring.started, routers=[router, pages],
                   description="The internal web UI and its sign-in session.")
PREFIXES = SPEC.prefixes


def create_app(settings: WebSettings | None = None) -> FastAPI:
    app = create_service_app(SPEC, settings or get_settings())
    app.mount("/assets", StaticFiles(directory=STATIC), name="assets")
    app.add_middleware(UiHeaders)
    app.add_middleware(GZipMiddleware, minimum_size=1024)  # the UI's scripts, over slow links
    return app
