"""The reasoning service's FastAPI app."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from fastapi import FastAPI

from sutazai.lib.http_client import ResilientClient
from sutazai.lib.models import ModelBackend
from sutazai.lib.models.factory import shared_backend
from sutazai.lib.models.guard import GuardedBackend
from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.lib.service_runtime import Resources, standard_lifespan, standard_readiness
from sutazai.lib.settings import ModelBackendKind
from sutazai.reasoning import openai_api
from sutazai.reasoning.api import router
from sutazai.reasoning.core import Policy, Reasoner
from sutazai.reasoning.executor import Budget
from sutazai.reasoning.routing import ModelRouter
from sutazai.reasoning.settings import ReasoningSettings, get_settings
from sutazai.reasoning.tools import build_tools
from sutazai.reasoning.tools.knowledge import KnowledgeClient

MIGRATIONS = Path(__file__).parent / "migrations"
PREFIXES = ("/api/reasoning", "/v1")


def policy_of(settings: ReasoningSettings) -> Policy:
    return Policy(
        samples=settings.samples, sample_temperature=settings.sample_temperature,
        abstain_below=settings.abstain_below, max_question_chars=settings.max_question_chars,
        default=Budget(settings.default_max_steps, settings.default_max_tokens, settings.default_max_seconds),
        limit=Budget(settings.policy_max_steps, settings.policy_max_tokens, settings.policy_max_seconds),
    )


def model_router(settings: ReasoningSettings, default: ModelBackend, stack: AsyncExitStack) -> ModelRouter:
    """Routes to the default model or, on an Ollama host, to other models by name."""
    built: dict[str, ModelBackend] = {}
    ollama = settings.model_backend is ModelBackendKind.ollama

    def available() -> list[str]:
        return [default.chat_model, *(m for m in settings.extra_models if ollama and m != default.chat_model)]

    def resolve(name: str) -> ModelBackend:
        if name not in built:
            from sutazai.lib.models.ollama_backend import OllamaBackend

            backend = OllamaBackend(settings.ollama_url, chat_model=name, embed_model=settings.embed_model,
                                    timeout=settings.ollama_timeout_seconds)
            stack.push_async_callback(backend.close)
            built[name] = GuardedBackend(backend, failure_threshold=settings.model_failure_threshold,
                                         reset_seconds=settings.model_reset_seconds)
        return built[name]

    return ModelRouter(default=default, available=available, resolve=resolve, routes=settings.model_routes)


def create_app(settings: ReasoningSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    async def extra(app: FastAPI, resources: Resources, stack: AsyncExitStack) -> None:
        model = GuardedBackend(await stack.enter_async_context(shared_backend(settings)),
                               failure_threshold=settings.model_failure_threshold,
                               reset_seconds=settings.model_reset_seconds)
        app.state.model = model
        client = ResilientClient(settings.knowledge_url, name="knowledge service", timeout=30.0)
        stack.push_async_callback(client.close)
        knowledge = KnowledgeClient(client)
        route = model_router(settings, model, stack)
        app.state.reasoner = Reasoner(
            db=resources.db, router=route, bus=resources.bus, knowledge=knowledge, policy=policy_of(settings),
            tools=build_tools(knowledge=knowledge, route=route), max_tokens_cap=settings.max_tokens_cap,
        )
        await app.state.reasoner.load_routes()

    spec = ServiceSpec(
        name="reasoning", prefixes=PREFIXES, otlp_endpoint=settings.otlp_endpoint,
        description="Plan, act with tools, synthesize and verify answers; stored traces; "
                    "OpenAI-compatible /v1.",
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
    app.include_router(openai_api.router)
    return app
