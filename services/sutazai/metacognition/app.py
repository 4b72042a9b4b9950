"""The metacognition service's FastAPI app. Its domain endpoints arrive with its features; the app
already runs with the platform's health, readiness, metrics, auth and migrations."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.lib.service_runtime import standard_lifespan, standard_readiness
from sutazai.metacognition.settings import MetacognitionSettings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"
PREFIXES = ("/api/metacognition",)


def create_app(settings: MetacognitionSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    spec = ServiceSpec(
        name="metacognition", prefixes=PREFIXES, otlp_endpoint=settings.otlp_endpoint,
        description="Confidence assessments, calibration, monitors and alerts, improvement proposals.",
        lifespan=standard_lifespan(settings, schema="metacognition", migrations_dir=MIGRATIONS),
    )
    app = create_service_app(spec)
    spec.readiness.update(standard_readiness(app))
    return app
