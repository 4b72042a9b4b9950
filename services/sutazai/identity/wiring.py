"""The identity service's components, built once per process from its settings and resources
(by the HTTP app's lifespan, or by the CLI's bootstrap)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sutazai.identity.core import IdentityCore
from sutazai.identity.settings import IdentitySettings
from sutazai.identity.store import MIGRATIONS, SCHEMA
from sutazai.lib import wiring as lib_wiring
from sutazai.lib.security import Authenticator
from sutazai.lib.wiring import Resources, ServiceComponents, auth_limits, token_codec


@dataclass(frozen=True, kw_only=True)
class IdentityComponents(ServiceComponents):
    settings: IdentitySettings
    core: IdentityCore


async def build(settings: IdentitySettings, resources: Resources) -> IdentityComponents:
    """Identity verifies API keys itself, against its own table."""
    core = IdentityCore(db=resources.db, codec=token_codec(settings))
    return IdentityComponents(resources=resources, settings=settings, core=core,
                              authenticator=Authenticator(verifier=core, codec=token_codec(settings),
                                                          limits=auth_limits(settings, resources)))


def started(settings: IdentitySettings) -> AbstractAsyncContextManager[IdentityComponents]:
    """The running service's components, until the block ends."""
    return lib_wiring.started(settings, schema=SCHEMA, migrations_dir=MIGRATIONS, build=build)
