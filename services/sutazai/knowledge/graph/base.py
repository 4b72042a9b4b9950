"""What both graph backends share: the portable queries, run through one `_run` per backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sutazai.knowledge.graph import cypher
from sutazai.knowledge.graph.interface import MAX_HOPS, Entity, Fact, Subgraph
from sutazai.lib.errors import ValidationFailed

Rows = list[dict[str, Any]]


def check_hops(hops: int) -> int:
    if not 1 <= hops <= MAX_HOPS:
        raise ValidationFailed(f"hops must be between 1 and {MAX_HOPS}")
    return hops


def entity_of(row: dict[str, Any]) -> Entity:
    return Entity(id=row["id"], name=row["name"], type=row["type"], aliases=tuple(row.get("aliases") or ()))


def fact_of(row: dict[str, Any]) -> Fact:
    return Fact(
        id=row["id"], source_id=row["source_id"], relation=row["relation"], target_id=row["target_id"],
        document_id=row["document_id"], chunk_id=row["chunk_id"], version=int(row["version"]),
        model=row["model"], extracted_at=float(row["extracted_at"]), valid_from=float(row["valid_from"]),
        valid_to=float(row["valid_to"]) if row.get("valid_to") is not None else None,
    )


class PortableGraphStore(ABC):
    """Implements the GraphStore contract on top of `_run`, which each backend provides."""

    @abstractmethod
    async def _run(self, collection: str, query: str, params: dict[str, Any], *, write: bool = False,
                   timeout_ms: int = 10_000) -> Rows:
        """Run `query` against `collection`'s graph and return rows as dicts."""

    async def upsert_entity(self, collection: str, entity: Entity) -> None:
        await self._run(collection, cypher.UPSERT_ENTITY, {
            "collection": collection, "id": entity.id, "name": entity.name, "type": entity.type,
            "aliases": list(entity.aliases)}, write=True)

    async def upsert_fact(self, collection: str, fact: Fact) -> None:
        await self._run(collection, cypher.UPSERT_FACT, {"collection": collection, **fact.__dict__}, write=True)

    async def close_facts(self, collection: str, document_id: str, *, before_version: int, at: float) -> int:
        rows = await self._run(collection, cypher.CLOSE_FACTS, {
            "collection": collection, "document_id": document_id, "before_version": before_version, "at": at},
            write=True)
        return int(rows[0]["closed"]) if rows else 0

    async def delete_document(self, collection: str, document_id: str) -> None:
        await self._run(collection, cypher.DELETE_DOCUMENT_FACTS,
                        {"collection": collection, "document_id": document_id}, write=True)
        await self._run(collection, cypher.DELETE_ORPHANS, {"collection": collection}, write=True)

    async def export(self, collection: str, *, page: int = 500) -> AsyncIterator[Entity | Fact]:
        """Every entity, then every fact, of the collection, in pages by id (for backups)."""
        async for row in self._pages(collection, cypher.ALL_ENTITIES, page):
            yield entity_of(row)
        async for row in self._pages(collection, cypher.ALL_FACTS, page):
            yield fact_of(row)

    async def _pages(self, collection: str, query: str, page: int) -> AsyncIterator[dict[str, Any]]:
        after = ""
        while rows := await self._run(collection, query, {"collection": collection, "after": after, "limit": page},
                                      timeout_ms=60_000):
            for row in rows:
                yield row
            after = rows[-1]["id"]

    async def get_entities(self, collection: str, ids: Sequence[str]) -> list[Entity]:
        if not ids:
            return []
        rows = await self._run(collection, cypher.GET_ENTITIES, {"collection": collection, "ids": list(ids)})
        return [entity_of(r) for r in rows]

    async def facts_of(self, collection: str, entity_id: str, *, as_of: float | None) -> list[Fact]:
        rows = await self._run(collection, cypher.FACTS_OF, {"collection": collection, "id": entity_id, "as_of": as_of})
        return [fact_of(r) for r in rows]

    async def _facts(self, collection: str, ids: Sequence[str]) -> list[Fact]:
        if not ids:
            return []
        rows = await self._run(collection, cypher.FACTS_BY_ID, {"collection": collection, "ids": list(ids)})
        return [fact_of(r) for r in rows]

    async def neighbourhood(self, collection: str, entity_id: str, *, hops: int, as_of: float | None,
                            relations: Sequence[str] = ()) -> Subgraph:
        rows = await self._run(collection, cypher.neighbourhood(check_hops(hops)), {
            "collection": collection, "id": entity_id, "as_of": as_of, "relations": list(relations)})
        node_ids = {entity_id} | {n for r in rows for n in r["node_ids"]}
        fact_ids = {f for r in rows for f in r["fact_ids"]}
        return Subgraph(await self.get_entities(collection, sorted(node_ids)),
                        await self._facts(collection, sorted(fact_ids)))

    async def paths(self, collection: str, source_id: str, target_id: str, *, max_hops: int,
                    as_of: float | None, limit: int = 5) -> list[Subgraph]:
        rows = await self._run(collection, cypher.paths(check_hops(max_hops)), {
            "collection": collection, "source": source_id, "target": target_id, "as_of": as_of, "limit": limit})
        node_ids = sorted({n for r in rows for n in r["node_ids"]})
        entities = {e.id: e for e in await self.get_entities(collection, node_ids)}
        facts = {f.id: f for f in await self._facts(collection, sorted({f for r in rows for f in r["fact_ids"]}))}
        return [Subgraph([entities[n] for n in r["node_ids"] if n in entities],
                         [facts[f] for f in r["fact_ids"] if f in facts]) for r in rows]
