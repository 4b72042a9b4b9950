"""Graph records and the GraphStore contract. Times are epoch seconds (floats): FalkorDB has
no datetime(), so the portable representation is a number on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

MAX_HOPS = 4


@dataclass(frozen=True)
class Entity:
    id: str
    name: str
    type: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fact:
    """A relation between two entities, with provenance and temporal validity."""

    id: str
    source_id: str
    relation: str
    target_id: str
    document_id: str
    chunk_id: str
    version: int
    model: str
    extracted_at: float
    valid_from: float
    valid_to: float | None = None


@dataclass(frozen=True)
class Subgraph:
    entities: list[Entity]
    facts: list[Fact]


class GraphStore(Protocol):
    name: str

    async def ensure_ready(self, collection: str) -> None: ...

    async def upsert_entity(self, collection: str, entity: Entity) -> None: ...

    async def upsert_fact(self, collection: str, fact: Fact) -> None: ...

    async def close_facts(self, collection: str, document_id: str, *, before_version: int, at: float) -> int: ...

    async def delete_document(self, collection: str, document_id: str) -> None: ...

    def export(self, collection: str, *, page: int = 500) -> AsyncIterator[Entity | Fact]:
        """Every entity, then every fact, of the collection (for backups)."""
        ...

    async def get_entities(self, collection: str, ids: Sequence[str]) -> list[Entity]: ...

    async def facts_of(self, collection: str, entity_id: str, *, as_of: float | None) -> list[Fact]: ...

    async def neighbourhood(self, collection: str, entity_id: str, *, hops: int, as_of: float | None,
                            relations: Sequence[str] = ()) -> Subgraph: ...

    async def paths(self, collection: str, source_id: str, target_id: str, *, max_hops: int,
                    as_of: float | None, limit: int = 5) -> list[Subgraph]: ...

    async def read_only(self, collection: str, query: str, params: dict[str, Any], *,
                        timeout_ms: int) -> tuple[list[str], list[list[Any]]]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
