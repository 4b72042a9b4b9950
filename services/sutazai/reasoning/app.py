"""The reasoning service's FastAPI app: asking, traces and routes (`api`), the
OpenAI-compatible /v1 (`openai_api`), the MCP server at /mcp (`mcp_api`) and the internal MCP
servers the planner may call (`mcp_servers_api`), over the components
`wiring` builds."""

from __future__ import annotations

from fastapi import FastAPI

from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.reasoning import mcp_api, openai_api, wiring
from sutazai.reasoning.api import router
from sutazai.reasoning.mcp_servers_api import router as mcp_servers_router
from sutazai.reasoning.settings import ReasoningSettings, get_settings

SPEC = ServiceSpec(name="reasoning", prefixes=("/api/reasoning", "/v1", mcp_api.PATH), start=wiring.started,
                   routers=[router, openai_api.router, mcp_servers_router],
                   description="Plan, act with tools, synthesize and verify answers; stored traces; "
                               "OpenAI-compatible /v1; the MCP server at /mcp.")
PREFIXES = SPEC.prefixes


def create_app(settings: ReasoningSettings | None = None) -> FastAPI:
    app = create_service_app(SPEC, settings or get_settings())
    mcp_api.attach(app)
    return app
