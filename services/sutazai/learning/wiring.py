"""The learning service's components, built once per process from its settings and resources
(by the HTTP app's lifespan and by its worker)."""

from __future__ import annotations

import os
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sutazai.learning.feedback import FeedbackBook
from sutazai.learning.settings import LearningSettings
from sutazai.learning.store import MIGRATIONS, SCHEMA
from sutazai.learning.suites import SuiteBook
from sutazai.learning.traces import TraceReader
from sutazai.lib import wiring as lib_wiring
from sutazai.lib.field_crypto import field_cipher
from sutazai.lib.http_client import ResilientClient
from sutazai.lib.wiring import Resources, ServiceComponents, identity_authenticator


@dataclass(frozen=True, kw_only=True)
class LearningComponents(ServiceComponents):
    settings: LearningSettings
    feedback: FeedbackBook
    suites: SuiteBook


async def build(settings: LearningSettings, resources: Resources) -> LearningComponents:
    reasoning = ResilientClient(settings.reasoning_url, name="reasoning service", timeout=10.0)
    resources.on_close(reasoning.close)
    return LearningComponents(resources=resources, settings=settings,
                              authenticator=identity_authenticator(settings, resources),
                              feedback=FeedbackBook(db=resources.db, traces=TraceReader(reasoning),
                                                    cipher=field_cipher(dict(os.environ), "learning")),
                              suites=SuiteBook(db=resources.db))


def started(settings: LearningSettings) -> AbstractAsyncContextManager[LearningComponents]:
    """The running service's components, until the block ends."""
    return lib_wiring.started(settings, schema=SCHEMA, migrations_dir=MIGRATIONS, build=build)
