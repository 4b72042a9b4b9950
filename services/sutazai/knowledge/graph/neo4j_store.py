"""Neo4j 5 (Compose): one database, every node and edge carries its `collection` and every
query names it. Reads run in read transactions with a timeout."""

from __future__ import annotations

from typing import Any

from neo4j import READ_ACCESS, AsyncDriver, AsyncGraphDatabase, Query
from neo4j import exceptions as nx

from sutazai.knowledge.graph.base import PortableGraphStore, Rows
from sutazai.knowledge.graph.readonly import check_plan
from sutazai.lib.errors import (
    DependencyTimeout,
    DependencyUnavailable,
    ErrorMapping,
    SutazaiError,
    ValidationFailed,
    translated,
)


def _timed_out(exc: nx.Neo4jError) -> SutazaiError | None:
    code = exc.code or ""
    return DependencyTimeout(f"Neo4j stopped a query at its time limit: {exc.message or exc}") \
        if "TransactionTimedOut" in code or "Timeout" in code else None


NEO4J_ERRORS: ErrorMapping = (
    (nx.AuthError, lambda e: DependencyUnavailable(f"Neo4j refused the configured credentials: {e.message or e}")),
    (nx.Neo4jError, _timed_out),
    (nx.TransientError, lambda e: DependencyUnavailable(f"Neo4j is busy, try again: {e.message or e}")),
    (nx.ServiceUnavailable, lambda e: DependencyUnavailable(f"Neo4j is unavailable: {e}")),
    (nx.SessionExpired, lambda e: DependencyUnavailable(f"Neo4j ended the session (failover?): {e}")),
    (nx.DriverError, lambda e: DependencyUnavailable(f"Neo4j cannot be used: {e}")),
)
"""How Neo4j's errors reach callers: outages, expired sessions and timeouts as 503/504. Other
refusals of internal queries are defects and stay as they are."""
QUERY_REFUSALS: ErrorMapping = (
    *NEO4J_ERRORS, (nx.Neo4jError, lambda e: ValidationFailed(f"the query was refused: {e.message or e}")))
"""For a person's own read-only Cypher (a syntax error, a write in a read transaction): 422."""

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
        with translated(NEO4J_ERRORS):
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
        with translated(NEO4J_ERRORS):
            if write:
                async with self._driver.session(database=self._database) as session:
                    result = await session.run(statement, params)
                    return [dict(record) for record in await result.data()]
            async with self._driver.session(database=self._database, default_access_mode=READ_ACCESS) as session:
                return await session.execute_read(_read, statement, params)

    async def read_only(self, collection: str, query: str, params: dict[str, Any], *,
                        timeout_ms: int) -> tuple[list[str], list[list[Any]]]:
        statement = Query(query, timeout=timeout_ms / 1000)
        with translated(QUERY_REFUSALS):
            async with self._driver.session(database=self._database, default_access_mode=READ_ACCESS) as session:
                operators, query_type = await session.execute_read(_plan, query, {**params, "collection": collection})
                if query_type != "r":
                    raise ValidationFailed(f"the database classifies this query as {query_type!r}, not read-only ('r')")
                check_plan(operators)
                rows = await session.execute_read(_read, statement, {**params, "collection": collection})
        header = list(rows[0]) if rows else []
        return header, [[row[h] for h in header] for row in rows]

    async def ping(self) -> None:
        with translated(NEO4J_ERRORS):
            await self._driver.verify_connectivity()

    async def close(self) -> None:
        await self._driver.close()


async def _plan(tx: Any, query: str, params: dict[str, Any]) -> tuple[list[str], str]:
    """Neo4j's own plan of the query (EXPLAIN runs nothing): its operators and query type."""
    result = await tx.run(f"EXPLAIN {query}", params)
    summary = await result.consume()
    operators: list[str] = []
    stack = [summary.plan or {}]
    while stack:
        node = stack.pop()
        operators.append(str(node.get("operatorType", "")))
        stack.extend(node.get("children", []))
    return operators, str(summary.query_type or "")


async def _read(tx: Any, statement: Query, params: dict[str, Any]) -> Rows:
    result = await tx.run(statement, params)
    return [dict(record) for record in await result.data()]
