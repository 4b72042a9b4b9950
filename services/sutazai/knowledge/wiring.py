"""The knowledge service's components, built once per process from its settings and resources
(by the HTTP app's lifespan and by `sutazai worker knowledge`): the model, the search index and
graph store of the configured backends, and the domain objects over them."""

from __future__ import annotations

import asyncio
import os
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sutazai.knowledge.catalog import Catalog
from sutazai.knowledge.connectors.manager import Connectors
from sutazai.knowledge.connectors.registry import Limits
from sutazai.knowledge.connectors.sync import Syncer
from sutazai.knowledge.graph import candidates
from sutazai.knowledge.graph.explorer import GraphExplorer
from sutazai.knowledge.graph.extraction import GraphBuilder
from sutazai.knowledge.graph.interface import GraphStore
from sutazai.knowledge.ingest import IngestionHealth, Ingestor
from sutazai.knowledge.passages import StoredPassages
from sutazai.knowledge.retrieval import Retriever
from sutazai.knowledge.search.interface import SearchIndex
from sutazai.knowledge.settings import GraphBackend, GraphExtractor, KnowledgeSettings, SearchBackend
from sutazai.knowledge.store import MIGRATIONS, SCHEMA
from sutazai.lib import wiring as lib_wiring
from sutazai.lib.audit_client import AuditClient
from sutazai.lib.field_crypto import field_cipher
from sutazai.lib.http_client import ResilientClient
from sutazai.lib.limits import Sandbox
from sutazai.lib.models import ModelBackend
from sutazai.lib.models.factory import shared_backend
from sutazai.lib.wiring import ReadinessCheck, Resources, ServiceComponents, identity_authenticator


@dataclass(frozen=True, kw_only=True)
class KnowledgeComponents(ServiceComponents):
    settings: KnowledgeSettings
    model: ModelBackend
    index: SearchIndex
    graph: GraphStore
    ingestor: Ingestor
    retriever: Retriever
    catalog: Catalog
    explorer: GraphExplorer
    ingestion: IngestionHealth
    audit: AuditClient
    connectors: Connectors
    syncer: Syncer

    def readiness(self) -> dict[str, ReadinessCheck]:
        """PostgreSQL and Redis, the graph store (Neo4j or FalkorDB), the search index, and
        whether ingestion jobs are moving."""
        return {**super().readiness(), "graph": self.graph.ping, "search": self.index.ping,
                "ingestion": self.ingestion.check}

    async def metrics(self) -> list[Any]:
        """Measured at each scrape of /metrics: the ingestion job queue."""
        return await self.ingestion.metrics()


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


async def build(settings: KnowledgeSettings, resources: Resources) -> KnowledgeComponents:
    if settings.graph_extraction and settings.graph_extractor is GraphExtractor.ner_model:
        await asyncio.to_thread(candidates.warm_up)  # verifies the NER model's digest; refuses to start on a mismatch
    model = await resources.enter(shared_backend(settings))
    index = build_search_index(settings, resources)
    resources.on_close(index.close)
    await index.ensure_ready()
    graph = build_graph_store(settings)
    resources.on_close(graph.close)
    passages = StoredPassages(resources.db)
    sandbox = Sandbox(memory_bytes=settings.parse_memory_mb * 1024**2, preload=("sutazai.knowledge.parsing",))
    resources.on_close(sandbox.close)
    ingestor = Ingestor(
        db=resources.db, index=index, embedder=model, bus=resources.bus,
        graph=GraphBuilder(db=resources.db, store=graph, model=model, extractor=settings.graph_extractor.value),
        extract_graph=settings.graph_extraction, max_bytes=settings.max_document_bytes,
        chunk_chars=settings.chunk_max_chars, embed_batch=settings.embed_batch,
        sandbox=sandbox, parse_seconds=settings.parse_timeout_seconds, ocr_page_seconds=settings.ocr_page_seconds,
    )
    audit_link = ResilientClient(settings.identity_url, name="identity service (audit log)", timeout=10.0)
    resources.on_close(audit_link.close)
    cipher = field_cipher(dict(os.environ), "knowledge")
    limits = Limits(roots=settings.connector_root_list, hosts=settings.connector_host_list,
                    cache=settings.connector_cache_dir, max_bytes=settings.max_document_bytes)
    components = KnowledgeComponents(
        resources=resources, authenticator=identity_authenticator(settings, resources), settings=settings,
        model=model, index=index, graph=graph, ingestor=ingestor,
        retriever=Retriever(passages=passages, index=index, embedder=model, graph=graph),
        catalog=Catalog(db=resources.db), explorer=GraphExplorer(db=resources.db, graph=graph, passages=passages),
        ingestion=IngestionHealth(db=resources.db, stalled_after=settings.stalled_after_seconds),
        audit=AuditClient(audit_link),
        connectors=Connectors(db=resources.db, ingestor=ingestor, cipher=cipher, limits=limits),
        syncer=Syncer(db=resources.db, ingestor=ingestor, cipher=cipher, limits=limits,
                      lease_seconds=settings.connector_lease_seconds))
    return components


def started(settings: KnowledgeSettings) -> AbstractAsyncContextManager[KnowledgeComponents]:
    """The running service's components, until the block ends."""
    return lib_wiring.started(settings, schema=SCHEMA, migrations_dir=MIGRATIONS, build=build)
