"""The web service's components: its settings and the session broker (which asks identity).
The web service holds no database and no secret."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sutazai.lib.http_client import ResilientClient
from sutazai.lib.wiring import ReadinessCheck
from sutazai.web.session import SessionBroker
from sutazai.web.settings import WebSettings


@dataclass(frozen=True)
class WebComponents:
    settings: WebSettings
    broker: SessionBroker

    def readiness(self) -> dict[str, ReadinessCheck]:
        return {"identity": self.broker.check_identity}


@asynccontextmanager
async def started(settings: WebSettings) -> AsyncIterator[WebComponents]:
    """The running service's components, until the block ends."""
    client = ResilientClient(settings.identity_url, name="identity service", timeout=10)
    try:
        yield WebComponents(settings=settings, broker=SessionBroker(client))
    finally:
        await client.close()
