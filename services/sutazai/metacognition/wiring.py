"""The metacognition service's components, built once per process from its settings and
resources (by the HTTP app's lifespan and by its worker)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from sutazai.lib import wiring as lib_wiring
from sutazai.lib.http_client import ResilientClient
from sutazai.lib.wiring import Resources, ServiceComponents, identity_authenticator
from sutazai.metacognition.confidence import ConfidenceBook, LearningLabels
from sutazai.metacognition.proposals import ProposalBook
from sutazai.metacognition.settings import MetacognitionSettings

SCHEMA = "metacognition"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True, kw_only=True)
class MetacognitionComponents(ServiceComponents):
    settings: MetacognitionSettings
    proposals: ProposalBook
    confidence: ConfidenceBook


async def build(settings: MetacognitionSettings, resources: Resources) -> MetacognitionComponents:
    learning = ResilientClient(settings.learning_url, name="learning service (labelled outcomes)", timeout=30.0)
    resources.on_close(learning.close)
    confidence = ConfidenceBook(db=resources.db, labels=LearningLabels(learning), abstain_below=settings.abstain_below,
                                target_risk=settings.target_risk, min_labels=settings.calibration_min_labels)
    return MetacognitionComponents(resources=resources, settings=settings,
                                   authenticator=identity_authenticator(settings, resources),
                                   proposals=ProposalBook(db=resources.db), confidence=confidence)


def started(settings: MetacognitionSettings) -> AbstractAsyncContextManager[MetacognitionComponents]:
    """The running service's components, until the block ends."""
    return lib_wiring.started(settings, schema=SCHEMA, migrations_dir=MIGRATIONS, build=build)
