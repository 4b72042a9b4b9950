"""The learning service's components, built once per process from its settings and resources
(by the HTTP app's lifespan and by its worker)."""

from __future__ import annotations

import os
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sutazai.learning.evaluation_runs import RunBook
from sutazai.learning.feedback import FeedbackBook
from sutazai.learning.memory import MemoryBook
from sutazai.learning.route_recommendations import RouteRecommender
from sutazai.learning.settings import LearningSettings
from sutazai.learning.store import MIGRATIONS, SCHEMA
from sutazai.learning.suites import SuiteBook
from sutazai.learning.traces import TraceReader
from sutazai.lib import wiring as lib_wiring
from sutazai.lib.clients.identity import IdentityClient
from sutazai.lib.clients.knowledge import KnowledgeClient
from sutazai.lib.clients.metacognition import MetacognitionClient
from sutazai.lib.clients.reasoning import ReasoningClient
from sutazai.lib.field_crypto import field_cipher
from sutazai.lib.http_client import ResilientClient
from sutazai.lib.wiring import Resources, ServiceComponents, identity_authenticator


@dataclass(frozen=True, kw_only=True)
class LearningComponents(ServiceComponents):
    settings: LearningSettings
    feedback: FeedbackBook
    suites: SuiteBook
    runs: RunBook
    memory: MemoryBook
    routing: RouteRecommender


async def build(settings: LearningSettings, resources: Resources) -> LearningComponents:
    reasoning = ResilientClient(settings.reasoning_url, name="reasoning service", timeout=10.0)
    resources.on_close(reasoning.close)
    # an evaluation case may take minutes on a small machine: its own client, a long timeout, no retry
    asking = ResilientClient(settings.reasoning_url, name="reasoning service (evaluation)", timeout=900.0,
                             attempts=1)
    resources.on_close(asking.close)
    identity = ResilientClient(settings.identity_url, name="identity service (run keys)", timeout=10.0)
    resources.on_close(identity.close)
    metacognition = ResilientClient(settings.metacognition_url, name="metacognition service (proposals)",
                                    timeout=10.0)
    resources.on_close(metacognition.close)
    knowledge = ResilientClient(settings.knowledge_url, name="knowledge service (collections)", timeout=10.0)
    resources.on_close(knowledge.close)
    cipher = field_cipher(dict(os.environ), "learning")
    suites = SuiteBook(db=resources.db)
    to_reasoning = ReasoningClient(reasoning)
    memory = MemoryBook(db=resources.db, traces=TraceReader(to_reasoning))
    components = LearningComponents(
        resources=resources, settings=settings, authenticator=identity_authenticator(settings, resources),
        feedback=FeedbackBook(db=resources.db, traces=TraceReader(to_reasoning), cipher=cipher, memory=memory,
                              events=resources.bus),
        suites=suites, memory=memory,
        routing=RouteRecommender(db=resources.db, suites=suites, reasoning=to_reasoning,
                       metacognition=MetacognitionClient(metacognition)),
        runs=RunBook(db=resources.db, suites=suites, reasoning=ReasoningClient(asking),
                     identity=IdentityClient(identity), bus=resources.bus, cipher=cipher,
                     knowledge=KnowledgeClient(knowledge)))
    return components


def started(settings: LearningSettings) -> AbstractAsyncContextManager[LearningComponents]:
    """The running service's components, until the block ends."""
    return lib_wiring.started(settings, schema=SCHEMA, migrations_dir=MIGRATIONS, build=build)
