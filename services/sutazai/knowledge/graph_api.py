"""HTTP adapter of the knowledge graph: entity lookup, neighbourhood to k hops, paths, all "as of"
a time, every fact cited back to its exact passage; and read-only Cypher for admins."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from sutazai.knowledge.deps import Explorer
from sutazai.knowledge.graph.explorer import CitedFact, CitedGraph
from sutazai.knowledge.graph.interface import MAX_HOPS, Entity
from sutazai.lib.access import CollectionName
from sutazai.lib.contracts import knowledge as contract
from sutazai.lib.contracts.knowledge import EntityDetail, EntityOut, FactCitation, FactOut, GraphOut
from sutazai.lib.deps import CurrentPrincipal, PlatformAdmin

router = APIRouter(prefix=contract.PREFIX, tags=["graph"])
Collection = Annotated[str | None, Query(max_length=63)]
AsOf = Annotated[dt.datetime | None, Query(description="ISO time; facts valid then (default: now)")]


def _entity_out(entity: Entity) -> EntityOut:
    return EntityOut(id=entity.id, name=entity.name, type=entity.type, aliases=list(entity.aliases))


class CypherRequest(BaseModel):
    query: str = Field(description="a read-only Cypher query; pass values as $parameters")
    parameters: dict[str, Any] = Field(default_factory=dict)
    collection: CollectionName | None = None
    timeout_ms: int = Field(default=2000, ge=10, le=30_000)


class CypherResult(BaseModel):
    columns: list[str]
    rows: list[list[Any]]


def _epoch(when: dt.datetime | None) -> float | None:
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def _at(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


def _fact_out(cited: CitedFact) -> FactOut:
    fact, row = cited.fact, cited.passage
    citation = FactCitation(document_id=row["document_id"], chunk_id=row["chunk_id"], source=row["source"],
                        start=row["start_offset"], end=row["end_offset"], page=row["page"],
                        text=row["text"]) if row else None
    return FactOut(id=fact.id, source_id=fact.source_id, relation=fact.relation, target_id=fact.target_id,
                   document_id=fact.document_id, chunk_id=fact.chunk_id, model=fact.model,
                   extracted_at=_at(fact.extracted_at), valid_from=_at(fact.valid_from),
                   valid_to=_at(fact.valid_to) if fact.valid_to is not None else None, citation=citation)


def _graph_out(graph: CitedGraph) -> GraphOut:
    return GraphOut(entities=[_entity_out(e) for e in graph.entities], facts=[_fact_out(f) for f in graph.facts])


@router.get("/entities", response_model=list[EntityOut], summary="Find entities by name or alias")
async def find_entities(principal: CurrentPrincipal, explorer: Explorer,
                        q: Annotated[str, Query(min_length=1, max_length=200)], collection: Collection = None,
                        limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[EntityOut]:
    found = await explorer.find(principal=principal, collection=collection, query=q, limit=limit)
    return [_entity_out(e) for e in found]


@router.get("/entities/{entity_id}", response_model=EntityDetail, summary="An entity and the facts about it")
async def get_entity(entity_id: str, principal: CurrentPrincipal, explorer: Explorer,
                     collection: Collection = None, as_of: AsOf = None) -> EntityDetail:
    entity, facts = await explorer.entity(principal=principal, collection=collection, entity_id=entity_id,
                                          as_of=_epoch(as_of))
    return EntityDetail(**_entity_out(entity).model_dump(), facts=[_fact_out(f) for f in facts])


@router.get("/entities/{entity_id}/neighbourhood", response_model=GraphOut,
            summary="Entities and facts within k hops, valid as of a time")
async def neighbourhood(entity_id: str, principal: CurrentPrincipal, explorer: Explorer,
                        collection: Collection = None, hops: Annotated[int, Query(ge=1, le=MAX_HOPS)] = 1,
                        as_of: AsOf = None,
                        relation: Annotated[list[str] | None, Query(description="only these relations")] = None,
                        ) -> GraphOut:
    return _graph_out(await explorer.neighbourhood(principal=principal, collection=collection, entity_id=entity_id,
                                                   hops=hops, as_of=_epoch(as_of), relations=relation or []))


@router.get("/paths", response_model=list[GraphOut], summary="Paths between two entities, shortest first")
async def paths(principal: CurrentPrincipal, explorer: Explorer,
                source: Annotated[str, Query(alias="from")], target: Annotated[str, Query(alias="to")],
                collection: Collection = None, max_hops: Annotated[int, Query(ge=1, le=MAX_HOPS)] = 3,
                as_of: AsOf = None, limit: Annotated[int, Query(ge=1, le=20)] = 5) -> list[GraphOut]:
    found = await explorer.paths(principal=principal, collection=collection, source=source, target=target,
                                 max_hops=max_hops, as_of=_epoch(as_of), limit=limit)
    return [_graph_out(path) for path in found]


@router.post("/cypher", response_model=CypherResult, summary="Read-only Cypher over one collection's graph "
             "(admins whose key is not limited to collections)")
async def run_cypher(body: CypherRequest, admin: PlatformAdmin, explorer: Explorer) -> CypherResult:
    columns, rows = await explorer.cypher(principal=admin, collection=body.collection, query=body.query,
                                          parameters=body.parameters, timeout_ms=body.timeout_ms)
    return CypherResult(columns=columns, rows=rows)
