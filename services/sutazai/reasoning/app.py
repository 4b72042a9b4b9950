"""The reasoning service's FastAPI app."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from fastapi import FastAPI

from sutazai.lib.models.factory import shared_backend
from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.lib.service_runtime import Resources, standard_lifespan, standard_readiness
from sutazai.reasoning.api import router
from sutazai.reasoning.core import Reasoner
from sutazai.reasoning.settings import ReasoningSettings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"
PREFIXES = ("/api/reasoning", "/v1")


def create_app(settings: ReasoningSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    async def extra(app: FastAPI, resources: Resources, stack: AsyncExitStack) -> None:
        model = await stack.enter_async_context(shared_backend(settings))
        app.state.model = model
        app.state.reasoner = Reasoner(
            db=resources.db, model=model, bus=resources.bus,
            system_prompt=settings.system_prompt, max_question_chars=settings.max_question_chars,
            max_tokens_cap=settings.max_tokens_cap,
        )

    spec = ServiceSpec(
        name="reasoning", prefixes=PREFIXES, otlp_endpoint=settings.otlp_endpoint,
        description="Plan, act with tools, synthesize and verify answers; stored traces.",
        lifespan=standard_lifespan(settings, schema="reasoning", migrations_dir=MIGRATIONS, extra=extra),
    )
    app = create_service_app(spec)
    spec.readiness.update(standard_readiness(app))

    async def model_ready() -> None:
        model = getattr(app.state, "model", None)
        if model is None:
            raise RuntimeError("model is still loading")
        await model.ping()

    spec.readiness["model"] = model_ready
    app.include_router(router)
    return app
