"""Reading the knowledge graph for people: entity lookup, neighbourhood to k hops and paths, all
"as of" a time, with every fact cited back to the exact passage it was read from; and
read-only Cypher for admins."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sutazai.knowledge.graph.interface import Entity, Fact, GraphStore, Subgraph
from sutazai.knowledge.graph.names import normalise
from sutazai.knowledge.graph.readonly import admit
from sutazai.knowledge.passages import PassageSource
from sutazai.knowledge.store import entities
from sutazai.lib.access import Principal
from sutazai.lib.db import Database
from sutazai.lib.errors import BudgetExhausted, Forbidden, NotFound


@dataclass(frozen=True)
class CitedFact:
    fact: Fact
    passage: dict[str, Any] | None
    """The chunk the fact was read from; None once that document version is superseded."""


@dataclass(frozen=True)
class CitedGraph:
    entities: list[Entity]
    facts: list[CitedFact]


def _entity(row: dict[str, Any]) -> Entity:
    return Entity(id=row["id"], name=row["name"], type=row["type"], aliases=tuple(row["aliases"]))


class GraphExplorer:
    """Graph queries on behalf of a principal, restricted to the collections it may use."""

    def __init__(self, *, db: Database, graph: GraphStore, passages: PassageSource) -> None:
        self._db, self._graph, self._passages = db, graph, passages

    async def find(self, *, principal: Principal, collection: str | None, query: str, limit: int) -> list[Entity]:
        name = principal.collection(collection)
        async with self._db.connection() as conn:
            rows = await entities.find_entities(conn=conn, collection=name, norm=normalise(query), limit=limit)
        return [_entity(r) for r in rows]

    async def entity(self, *, principal: Principal, collection: str | None, entity_id: str,
                     as_of: float | None) -> tuple[Entity, list[CitedFact]]:
        name = principal.collection(collection)
        found = await self._entity(name, entity_id)
        facts = await self._graph.facts_of(name, found.id, as_of=_now(as_of))
        return found, await self._cite(facts)

    async def neighbourhood(self, *, principal: Principal, collection: str | None, entity_id: str, hops: int,
                            as_of: float | None, relations: list[str]) -> CitedGraph:
        name = principal.collection(collection)
        found = await self._entity(name, entity_id)
        return await self._cited(await self._graph.neighbourhood(
            name, found.id, hops=hops, as_of=_now(as_of), relations=relations))

    async def paths(self, *, principal: Principal, collection: str | None, source: str, target: str,
                    max_hops: int, as_of: float | None, limit: int) -> list[CitedGraph]:
        name = principal.collection(collection)
        start, end = await self._entity(name, source), await self._entity(name, target)
        found = await self._graph.paths(name, start.id, end.id, max_hops=max_hops, as_of=_now(as_of), limit=limit)
        return [await self._cited(path) for path in found]

    async def cypher(self, *, principal: Principal, collection: str | None, query: str, parameters: dict[str, Any],
                     timeout_ms: int) -> tuple[list[str], list[list[Any]]]:
        """Read-only Cypher, for admin credentials not limited to collections (a scoped one
        could otherwise reach beyond its collections)."""
        if not principal.administers(None):
            raise Forbidden("Cypher is for admin keys not limited to collections; a scoped key could otherwise "
                            "reach beyond its collections")
        name = principal.collection(collection)
        admitted = admit(query)
        try:  # the server's own timeout bounds execution; this bounds everything (reading a huge result too)
            return await asyncio.wait_for(self._graph.read_only(name, admitted, parameters, timeout_ms=timeout_ms),
                                          timeout=timeout_ms / 1000)
        except TimeoutError as exc:
            raise BudgetExhausted(f"the query ran past its timeout_ms of {timeout_ms}; narrow it or add a LIMIT") \
                from exc

    async def _entity(self, collection: str, entity_id: str) -> Entity:
        try:
            key = str(uuid.UUID(entity_id))
        except ValueError as exc:
            raise NotFound(f"no entity {entity_id}") from exc
        async with self._db.connection() as conn:
            row = await entities.get_entity(conn=conn, collection=collection, entity_id=key)
        if row is None:
            raise NotFound(f"no entity {entity_id}")
        return _entity(row)

    async def _cite(self, facts: list[Fact]) -> list[CitedFact]:
        rows = {r["chunk_id"]: r for r in await self._passages.chunks([f.chunk_id for f in facts])}
        return [CitedFact(fact=f, passage=rows.get(f.chunk_id)) for f in facts]

    async def _cited(self, subgraph: Subgraph) -> CitedGraph:
        return CitedGraph(entities=list(subgraph.entities), facts=await self._cite(subgraph.facts))


def _now(as_of: float | None) -> float:
    return time.time() if as_of is None else as_of
