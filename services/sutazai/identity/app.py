"""The identity service's FastAPI app: its routes over the components `wiring` builds."""

from __future__ import annotations

from fastapi import FastAPI

from sutazai.identity import wiring
from sutazai.identity.api import router
from sutazai.identity.settings import IdentitySettings, get_settings
from sutazai.lib.service_app import ServiceSpec, create_service_app

SPEC = ServiceSpec(name="identity", prefixes=("/api/identity",), start=wiring.started, routers=[router],
                   description="Users, roles, API keys, bearer tokens and the audit log.")
PREFIXES = SPEC.prefixes


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or get_settings())
