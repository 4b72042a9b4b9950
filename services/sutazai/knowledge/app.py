"""The knowledge service's FastAPI app. Its domain endpoints arrive with its features; the app
already runs with the platform's health, readiness, metrics, auth and migrations."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sutazai.knowledge.settings import GraphBackend, KnowledgeSettings, get_settings
from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.lib.service_runtime import standard_lifespan, standard_readiness

MIGRATIONS = Path(__file__).parent / "migrations"
PREFIXES = ("/api/knowledge",)


def create_app(settings: KnowledgeSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    spec = ServiceSpec(
        name="knowledge", prefixes=PREFIXES, otlp_endpoint=settings.otlp_endpoint,
        description="Documents, ingestion jobs, chunks, search index and the knowledge graph.",
        lifespan=standard_lifespan(settings, schema="knowledge", migrations_dir=MIGRATIONS),
    )
    app = create_service_app(spec)
    spec.readiness.update(standard_readiness(app))

    async def graph() -> None:
        """The graph store answers: Neo4j (Compose) or FalkorDB's module in Redis (embedded)."""
        if settings.graph_backend is GraphBackend.neo4j:
            await _neo4j_ready(settings)
            return
        resources = getattr(app.state, "resources", None)
        if resources is None:
            raise RuntimeError("service is still starting")
        modules = await resources.redis.execute_command("MODULE", "LIST")
        names = {_module_name(m) for m in modules}
        if "graph" not in names:
            raise RuntimeError("the Redis server has no FalkorDB graph module loaded")

    spec.readiness["graph"] = graph
    return app


async def _neo4j_ready(settings: KnowledgeSettings) -> None:
    from neo4j import AsyncGraphDatabase

    auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value())
    async with AsyncGraphDatabase.driver(settings.neo4j_url, auth=auth) as driver:
        await driver.verify_connectivity()


def _module_name(entry: object) -> str:
    """Name of one MODULE LIST entry (a mapping in RESP3 clients, a flat list in RESP2)."""
    if isinstance(entry, dict):
        pairs = entry
    else:
        fields = entry if isinstance(entry, list) else []
        pairs = dict(zip(fields[::2], fields[1::2], strict=False))
    name = pairs.get(b"name", pairs.get("name", b""))
    return name.decode() if isinstance(name, bytes) else str(name)
