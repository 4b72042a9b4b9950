"""The identity service's FastAPI app."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from fastapi import FastAPI

from sutazai.identity.api import router
from sutazai.identity.core import IdentityCore
from sutazai.identity.settings import IdentitySettings, get_settings
from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.lib.service_runtime import Resources, standard_lifespan, standard_readiness, token_codec

MIGRATIONS = Path(__file__).parent / "migrations"
PREFIXES = ("/api/identity",)


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    core_box: dict[str, IdentityCore] = {}

    def verifier(resources: Resources) -> IdentityCore:
        core_box["core"] = IdentityCore(db=resources.db, codec=token_codec(settings))
        return core_box["core"]

    async def extra(app: FastAPI, _resources: Resources, _stack: AsyncExitStack) -> None:
        app.state.core = core_box["core"]

    spec = ServiceSpec(
        name="identity", prefixes=PREFIXES, otlp_endpoint=settings.otlp_endpoint,
        description="Users, roles, API keys, bearer tokens and the audit log.",
        lifespan=standard_lifespan(
            settings, schema="identity", migrations_dir=MIGRATIONS, verifier=verifier, extra=extra
        ),
    )
    app = create_service_app(spec)
    spec.readiness.update(standard_readiness(app))
    app.include_router(router)
    return app
