"""Neo4j 5 (Compose): one database, every node and edge carries its `collection` and every
query names it. Reads run in read transactions with a timeout."""

from __future__ import annotations

from typing import Any

from neo4j import READ_ACCESS, AsyncDriver, AsyncGraphDatabase, Query
from neo4j.exceptions import ClientError, Neo4jError, ServiceUnavailable

from sutazai.knowledge.graph.base import PortableGraphStore, Rows
from sutazai.lib.errors import DependencyUnavailable, ValidationFailed

INDEXES = (
    "CREATE INDEX sutazai_entity_id IF NOT EXISTS FOR (e:Entity) ON (e.id)",
    "CREATE INDEX sutazai_entity_collection IF NOT EXISTS FOR (e:Entity) ON (e.collection)",
    "CREATE INDEX sutazai_rel_id IF NOT EXISTS FOR ()-[r:REL]-() ON (r.id)",
    "CREATE INDEX sutazai_rel_document IF NOT EXISTS FOR ()-[r:REL]-() ON (r.document_id)",
)


class Neo4jGraphStore(PortableGraphStore):
    name = "neo4j"

    def __init__(self, driver: AsyncDriver, *, database: str | None = None) -> None:
        self._driver, self._database = driver, database
        self._ready = False

    @classmethod
    def from_url(cls, url: str, *, user: str, password: str, database: str | None = None) -> Neo4jGraphStore:
        return cls(AsyncGraphDatabase.driver(url, auth=(user, password)), database=database)

    async def ensure_ready(self, collection: str) -> None:  # noqa: ARG002 - one database for all
        if self._ready:
            return
        async with self._driver.session(database=self._database) as session:
            for statement in INDEXES:
                await session.run(statement)
        self._ready = True

    async def _run(self, collection: str, query: str, params: dict[str, Any], *, write: bool = False,
                   timeout_ms: int = 10_000) -> Rows:
        del collection  # every portable query filters on $collection itself
        if write:
            await self.ensure_ready("")
        statement = Query(query, timeout=timeout_ms / 1000)
        try:
            if write:
                async with self._driver.session(database=self._database) as session:
                    result = await session.run(statement, params)
                    return [dict(record) for record in await result.data()]
            async with self._driver.session(database=self._database, default_access_mode=READ_ACCESS) as session:
                return await session.execute_read(_read, statement, params)
        except ServiceUnavailable as exc:
            raise DependencyUnavailable(f"Neo4j is unavailable: {exc}") from exc

    async def read_only(self, collection: str, query: str, params: dict[str, Any], *,
                        timeout_ms: int) -> tuple[list[str], list[list[Any]]]:
        statement = Query(query, timeout=timeout_ms / 1000)
        try:
            async with self._driver.session(database=self._database, default_access_mode=READ_ACCESS) as session:
                rows = await session.execute_read(_read, statement, {**params, "collection": collection})
        except (ClientError, Neo4jError) as exc:
            raise ValidationFailed(f"the query was refused: {exc.message or exc}") from exc
        header = list(rows[0]) if rows else []
        return header, [[row[h] for h in header] for row in rows]

    async def ping(self) -> None:
        try:
            await self._driver.verify_connectivity()
        except Exception as exc:
            raise DependencyUnavailable(f"Neo4j does not answer: {exc}") from exc

    async def close(self) -> None:
        await self._driver.close()


async def _read(tx: Any, statement: Query, params: dict[str, Any]) -> Rows:
    result = await tx.run(statement, params)
    return [dict(record) for record in await result.data()]
