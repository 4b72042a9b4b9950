"""The metacognition service's components, built once per process from its settings and
resources (by the HTTP app's lifespan and by its worker)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from sutazai.lib import wiring as lib_wiring
from sutazai.lib.audit_client import AuditClient
from sutazai.lib.clients.knowledge import KnowledgeClient
from sutazai.lib.clients.learning import LearningClient
from sutazai.lib.clients.reasoning import ReasoningClient
from sutazai.lib.http_client import ResilientClient
from sutazai.lib.wiring import Resources, ServiceComponents, identity_authenticator
from sutazai.metacognition.confidence import ConfidenceBook, LearningLabels
from sutazai.metacognition.monitors import MonitorBook, Thresholds
from sutazai.metacognition.proposals import ProposalBook, ReasoningRoutes
from sutazai.metacognition.retrieval_tuning import KnowledgeSearches, LearningSuites, ReasoningRetrieval, RetrievalTuner
from sutazai.metacognition.settings import MetacognitionSettings

SCHEMA = "metacognition"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True, kw_only=True)
class MetacognitionComponents(ServiceComponents):
    settings: MetacognitionSettings
    proposals: ProposalBook
    confidence: ConfidenceBook
    monitors: MonitorBook
    retrieval: RetrievalTuner


async def build(settings: MetacognitionSettings, resources: Resources) -> MetacognitionComponents:
    learning = ResilientClient(settings.learning_url, name="learning service (labelled outcomes)", timeout=30.0)
    resources.on_close(learning.close)
    reasoning = ResilientClient(settings.reasoning_url, name="reasoning service (model routes)", timeout=30.0)
    resources.on_close(reasoning.close)
    identity = ResilientClient(settings.identity_url, name="identity service (audit log)", timeout=10.0)
    resources.on_close(identity.close)
    # tuning retrieval searches hundreds of times as the admin: a 429 is waited out as it says
    knowledge = ResilientClient(settings.knowledge_url, name="knowledge service (search)", timeout=30.0,
                                attempts=4, retry_after_cap=65.0)
    resources.on_close(knowledge.close)
    to_reasoning, to_learning = ReasoningClient(reasoning), LearningClient(learning)
    in_force = ReasoningRetrieval(to_reasoning)
    proposals = ProposalBook(db=resources.db, audit=AuditClient(identity), routes=ReasoningRoutes(to_reasoning),
                             retrieval=in_force, default_threshold=settings.abstain_below)
    tuner = RetrievalTuner(suites=LearningSuites(to_learning), searcher=KnowledgeSearches(KnowledgeClient(knowledge)),
                           in_force=in_force)
    confidence = ConfidenceBook(db=resources.db, labels=LearningLabels(to_learning), threshold=proposals.threshold,
                                target_risk=settings.target_risk, min_labels=settings.calibration_min_labels,
                                shipped=settings.shipped_calibrators)
    thresholds = Thresholds(
        window=settings.monitor_window, reference=settings.monitor_reference,
        min_observations=settings.monitor_min_observations, abstention_rate=settings.alert_abstention_rate,
        negative_feedback_rate=settings.alert_negative_feedback_rate, confidence_psi=settings.alert_confidence_psi,
        latency_p95_s=settings.alert_latency_p95_s, tool_error_rate=settings.alert_tool_error_rate,
        empty_retrieval_rate=settings.alert_empty_retrieval_rate)
    components = MetacognitionComponents(resources=resources, settings=settings,
                                         authenticator=identity_authenticator(settings, resources),
                                         proposals=proposals, confidence=confidence,
                                         monitors=MonitorBook(db=resources.db, thresholds=thresholds),
                                         retrieval=tuner)
    return components


def started(settings: MetacognitionSettings) -> AbstractAsyncContextManager[MetacognitionComponents]:
    """The running service's components, until the block ends."""
    return lib_wiring.started(settings, schema=SCHEMA, migrations_dir=MIGRATIONS, build=build)
