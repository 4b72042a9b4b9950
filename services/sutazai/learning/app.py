"""The learning service's FastAPI app: feedback on answers today; evaluations, the model
registry and routing policy arrive with their features."""

from __future__ import annotations

from fastapi import FastAPI

from sutazai.learning import jobs, wiring
from sutazai.learning.api import router
from sutazai.learning.settings import LearningSettings, get_settings
from sutazai.lib.service_app import ServiceSpec, create_service_app

SPEC = ServiceSpec(name="learning", prefixes=("/api/learning",), start=wiring.started, routers=[router],
                   worker=jobs.WORKER,
                   description="Feedback, evaluation suites and runs, model registry, routing policy, exemplars.")
PREFIXES = SPEC.prefixes


def create_app(settings: LearningSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or get_settings())
