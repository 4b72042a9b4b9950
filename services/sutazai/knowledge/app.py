"""The knowledge service's FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from pathlib import Path

from fastapi import FastAPI

from sutazai.knowledge import jobs
from sutazai.knowledge.api import router
from sutazai.knowledge.graph.extraction import GraphBuilder
from sutazai.knowledge.graph.interface import GraphStore
from sutazai.knowledge.graph_api import router as graph_router
from sutazai.knowledge.ingest import Ingestor
from sutazai.knowledge.retrieval import Retriever
from sutazai.knowledge.search.interface import SearchIndex
from sutazai.knowledge.settings import GraphBackend, KnowledgeSettings, SearchBackend, get_settings
from sutazai.lib.models.factory import shared_backend
from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.lib.service_runtime import Resources, standard_lifespan, standard_readiness
from sutazai.lib.worker import Worker

MIGRATIONS = Path(__file__).parent / "migrations"
PREFIXES = ("/api/knowledge",)
logger = logging.getLogger(__name__)


def build_search_index(settings: KnowledgeSettings, resources: Resources) -> SearchIndex:
    if settings.search_backend is SearchBackend.elasticsearch:
        from sutazai.knowledge.search.elastic import ElasticsearchSearchIndex

        return ElasticsearchSearchIndex.from_url(
            settings.elasticsearch_url, username=settings.elasticsearch_username,
            password=settings.elastic_password.get_secret_value() or None, index=settings.elasticsearch_index)
    from sutazai.knowledge.search.postgres import PostgresSearchIndex

    return PostgresSearchIndex(resources.db, text_config=settings.text_search_config)


def build_graph_store(settings: KnowledgeSettings) -> GraphStore:
    if settings.graph_backend is GraphBackend.neo4j:
        from sutazai.knowledge.graph.neo4j_store import Neo4jGraphStore

        return Neo4jGraphStore.from_url(settings.neo4j_url, user=settings.neo4j_user,
                                        password=settings.neo4j_password.get_secret_value())
    from sutazai.knowledge.graph.falkordb_store import FalkorDBGraphStore

    return FalkorDBGraphStore.from_url(settings.graph_url or settings.redis_url.get_secret_value())


def create_app(settings: KnowledgeSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    async def extra(app: FastAPI, resources: Resources, stack: AsyncExitStack) -> None:
        model = await stack.enter_async_context(shared_backend(settings))
        index = build_search_index(settings, resources)
        stack.push_async_callback(index.close)
        await index.ensure_ready()
        graph = build_graph_store(settings)
        stack.push_async_callback(graph.close)
        app.state.settings, app.state.index, app.state.model, app.state.graph = settings, index, model, graph
        app.state.ingestor = Ingestor(
            db=resources.db, index=index, embedder=model, bus=resources.bus,
            graph=GraphBuilder(db=resources.db, store=graph, model=model),
            extract_graph=settings.graph_extraction, max_bytes=settings.max_document_bytes,
            chunk_chars=settings.chunk_max_chars, embed_batch=settings.embed_batch,
        )
        app.state.retriever = Retriever(db=resources.db, index=index, embedder=model, graph=graph)
        if settings.inprocess_worker:
            await _start_worker(app, settings, resources, stack)

    spec = ServiceSpec(
        name="knowledge", prefixes=PREFIXES, otlp_endpoint=settings.otlp_endpoint,
        description="Documents, ingestion jobs, chunks, search index and the knowledge graph.",
        lifespan=standard_lifespan(settings, schema="knowledge", migrations_dir=MIGRATIONS, extra=extra),
    )
    app = create_service_app(spec)
    spec.readiness.update(standard_readiness(app))

    async def graph() -> None:
        """The graph store answers: Neo4j (Compose) or FalkorDB (embedded)."""
        store = getattr(app.state, "graph", None)
        if store is None:
            raise RuntimeError("service is still starting")
        await store.ping()

    async def search_index() -> None:
        index = getattr(app.state, "index", None)
        if index is None:
            raise RuntimeError("service is still starting")
        await index.ping()

    spec.readiness["graph"] = graph
    spec.readiness["search"] = search_index
    app.include_router(router)
    app.include_router(graph_router)
    return app


async def _start_worker(app: FastAPI, settings: KnowledgeSettings, resources: Resources,
                        stack: AsyncExitStack) -> None:
    """The embedded stack runs the ingestion worker inside the service process."""
    worker = Worker(bus=resources.bus, stream=jobs.STREAM, group=jobs.GROUP, handlers=jobs.handlers(app),
                    claim_idle_ms=settings.worker_claim_idle_ms,
                    heartbeat=Path(f"/tmp/sutazai-knowledge-{id(app):x}.heartbeat"))  # noqa: S108
    stop = asyncio.Event()

    async def requeue() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):
                await app.state.ingestor.requeue_stale(older_than_seconds=settings.requeue_after_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.requeue_after_seconds / 2)

    tasks = [asyncio.create_task(worker.run(stop)), asyncio.create_task(requeue())]

    async def shutdown() -> None:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    stack.push_async_callback(shutdown)
