"""The reasoning service's components, built once per process from its settings and resources:
the guarded model and its router, the knowledge client, the tools and the Reasoner."""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sutazai.lib import wiring as lib_wiring
from sutazai.lib.audit_client import AuditClient
from sutazai.lib.clients.knowledge import KnowledgeClient
from sutazai.lib.clients.learning import LearningClient
from sutazai.lib.clients.metacognition import MetacognitionClient
from sutazai.lib.field_crypto import field_cipher
from sutazai.lib.http_client import ResilientClient
from sutazai.lib.limits import Sandbox
from sutazai.lib.models import ModelBackend
from sutazai.lib.models.factory import backend_for_model, llamacpp_model_file, shared_backend
from sutazai.lib.models.guard import GuardedBackend
from sutazai.lib.models.manifest import model_suits
from sutazai.lib.settings import ModelBackendKind
from sutazai.lib.wiring import ReadinessCheck, Resources, ServiceComponents, identity_authenticator
from sutazai.reasoning.answers import Policy
from sutazai.reasoning.mcp_client import McpServers
from sutazai.reasoning.model_planning import ModelPlanner
from sutazai.reasoning.model_routes import ModelRouter, StoredRoutes
from sutazai.reasoning.reasoner import Reasoner
from sutazai.reasoning.settings import ReasoningSettings
from sutazai.reasoning.steps import Budget
from sutazai.reasoning.store import MIGRATIONS, SCHEMA
from sutazai.reasoning.tools import build_tools
from sutazai.reasoning.tools.external import McpCall
from sutazai.reasoning.tools.knowledge import KnowledgeCalls
from sutazai.reasoning.tools.memory import Judge, LearningMemory, Recall, model_judge
from sutazai.reasoning.trace import StoredTraces


@dataclass(frozen=True, kw_only=True)
class ReasoningComponents(ServiceComponents):
    settings: ReasoningSettings
    model: GuardedBackend
    reasoner: Reasoner
    knowledge: KnowledgeClient
    """the knowledge service, as the MCP tools call it with the caller's credential"""
    mcp_servers: McpServers
    """internal MCP servers whose tools the planner may call"""

    def readiness(self) -> dict[str, ReadinessCheck]:
        return {**super().readiness(), "model": self.model.ping}


def policy_of(settings: ReasoningSettings) -> Policy:
    return Policy(
        samples=settings.samples, sample_temperature=settings.sample_temperature,
        abstain_below=settings.abstain_below, max_question_chars=settings.max_question_chars,
        adaptive_samples=settings.adaptive_samples,
        default=Budget(settings.default_max_steps, settings.default_max_tokens, settings.default_max_seconds),
        limit=Budget(settings.policy_max_steps, settings.policy_max_tokens, settings.policy_max_seconds),
    )


def model_router(settings: ReasoningSettings, default: ModelBackend, resources: Resources) -> ModelRouter:
    """Routes to the default model or to the other models of SUTAZAI_EXTRA_MODELS: by name on an
    Ollama host, by manifest name of an installed file on llama.cpp (each built once, on first use,
    by the model factory, behind its own circuit breaker)."""
    built: dict[str, ModelBackend] = {}
    ollama = settings.model_backend is ModelBackendKind.ollama

    def present(name: str) -> bool:
        return ollama or llamacpp_model_file(settings, name) is not None

    def available() -> list[str]:
        return [default.chat_model, *(m for m in settings.extra_models if m != default.chat_model and present(m))]

    def resolve(name: str) -> ModelBackend:
        if name not in built:
            backend = backend_for_model(settings, name)
            resources.on_close(backend.close)
            built[name] = guarded(settings, backend)
        return built[name]

    return ModelRouter(default=default, available=available, resolve=resolve, routes=settings.model_routes)


def guarded(settings: ReasoningSettings, backend: ModelBackend) -> GuardedBackend:
    return GuardedBackend(backend, failure_threshold=settings.model_failure_threshold,
                          reset_seconds=settings.model_reset_seconds)


async def build(settings: ReasoningSettings, resources: Resources) -> ReasoningComponents:
    model = guarded(settings, await resources.enter(shared_backend(settings)))
    client = ResilientClient(settings.knowledge_url, name="knowledge service", timeout=30.0)
    resources.on_close(client.close)
    identity = ResilientClient(settings.identity_url, name="identity service (audit log)", timeout=10.0)
    resources.on_close(identity.close)
    router = model_router(settings, model, resources)
    recall = None
    if settings.memory:
        learning = ResilientClient(settings.learning_url, name="learning service (memory)", timeout=10.0)
        resources.on_close(learning.close)

        async def embed(texts: Sequence[str]) -> list[list[float]]:
            return await model.embed(texts, kind="query")

        def judge() -> Judge | None:
            on = (settings.memory_judge == "on" or settings.memory_judge == "auto"
                  and model_suits(router("verify").chat_model, "verify"))
            return model_judge(router) if on else None

        recall = Recall(LearningMemory(LearningClient(learning)), embed, min_similarity=settings.memory_min_similarity,
                        unjudged_similarity=settings.memory_unjudged_similarity, judge=judge,
                        limit=settings.memory_exemplars, demonstrations=settings.memory_demonstrations,
                        demonstration_similarity=settings.memory_demonstration_similarity)
    assessor = None
    if settings.calibrated_confidence:
        metacognition = ResilientClient(settings.metacognition_url, name="metacognition service (confidence)",
                                        timeout=10.0)
        resources.on_close(metacognition.close)
        assessor = MetacognitionClient(metacognition)
    sandbox = Sandbox(memory_bytes=1024**3,
                      preload=("sutazai.reasoning.tools.calculator", "sutazai.reasoning.tools.program"))
    resources.on_close(sandbox.close)
    knowledge = KnowledgeClient(client)
    audit = AuditClient(identity)
    servers = McpServers(db=resources.db, cipher=field_cipher(dict(os.environ), "reasoning"),
                         hosts=[h.strip() for h in settings.mcp_hosts.split(",") if h.strip()], audit=audit)
    tools = build_tools(knowledge=KnowledgeCalls(knowledge), route=router, verification=settings.model_verification,
                        sandbox=sandbox, recall=recall)
    tools[McpCall.name] = McpCall(servers, router, audit)
    reasoner = Reasoner(
        traces=StoredTraces(resources.db), routes=StoredRoutes(resources.db), router=router, events=resources.bus,
        policy=policy_of(settings), tools=tools,
        max_tokens_cap=settings.max_tokens_cap, planner=ModelPlanner(route=router, mode=settings.model_planning),
        audit=audit, assessor=assessor, external=servers)
    await reasoner.configuration.load_routes()
    return ReasoningComponents(resources=resources, authenticator=identity_authenticator(settings, resources),
                               settings=settings, model=model, reasoner=reasoner, knowledge=knowledge,
                               mcp_servers=servers)


def started(settings: ReasoningSettings) -> AbstractAsyncContextManager[ReasoningComponents]:
    """The running service's components, until the block ends."""
    return lib_wiring.started(settings, schema=SCHEMA, migrations_dir=MIGRATIONS, build=build)
