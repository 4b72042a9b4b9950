"""The metacognition service's FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.metacognition import jobs, wiring
from sutazai.metacognition.api import router
from sutazai.metacognition.settings import MetacognitionSettings, get_settings

SPEC = ServiceSpec(name="metacognition", prefixes=("/api/metacognition",), start=wiring.started, routers=[router],
                   worker=jobs.WORKER,
                   description="Confidence assessments, calibration, monitors and alerts, improvement proposals.")
PREFIXES = SPEC.prefixes


def create_app(settings: MetacognitionSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or get_settings())
