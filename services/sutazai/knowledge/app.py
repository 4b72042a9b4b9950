"""The knowledge service's FastAPI app: documents, jobs and search (`api`), the graph
(`graph_api`) and connectors (`connectors_api`), over the components `wiring` builds."""

from __future__ import annotations

from fastapi import FastAPI

from sutazai.knowledge import jobs, wiring
from sutazai.knowledge.api import router
from sutazai.knowledge.connectors_api import router as connectors_router
from sutazai.knowledge.graph_api import router as graph_router
from sutazai.knowledge.settings import KnowledgeSettings, get_settings
from sutazai.lib.service_app import ServiceSpec, create_service_app

SPEC = ServiceSpec(name="knowledge", prefixes=("/api/knowledge",), start=wiring.started, worker=jobs.WORKER,
                   routers=[router, graph_router, connectors_router],
                   max_json_bytes=64 * 1024 * 1024,  # documents sent as JSON text (the file limit is a setting)
                   description="Documents, ingestion jobs, chunks, search index and the knowledge graph.")
PREFIXES = SPEC.prefixes


def create_app(settings: KnowledgeSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or get_settings())
