"""The learning service's FastAPI app: feedback on answers today; evaluations, the model
registry and routing policy arrive with their features."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sutazai.learning.api import router
from sutazai.learning.settings import LearningSettings, get_settings
from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.lib.service_runtime import standard_lifespan, standard_readiness

MIGRATIONS = Path(__file__).parent / "migrations"
PREFIXES = ("/api/learning",)


def create_app(settings: LearningSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    spec = ServiceSpec(
        name="learning", prefixes=PREFIXES, otlp_endpoint=settings.otlp_endpoint,
        description="Feedback, evaluation suites and runs, model registry, routing policy, exemplars.",
        lifespan=standard_lifespan(settings, schema="learning", migrations_dir=MIGRATIONS),
    )
    app = create_service_app(spec)
    spec.readiness.update(standard_readiness(app))
    app.include_router(router)
    return app
