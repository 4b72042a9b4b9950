"""HTTP adapter of the knowledge graph: entity lookup, neighbourhood to k hops, paths, all "as of"
a time, every fact cited back to its exact passage; and read-only Cypher for admins."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from sutazai.knowledge import access, store
from sutazai.knowledge.graph.interface import MAX_HOPS, Entity, Fact, GraphStore, Subgraph
from sutazai.knowledge.graph.readonly import admit
from sutazai.lib.errors import Forbidden, NotFound
from sutazai.lib.security import CurrentPrincipal, Principal, Role, require_role

router = APIRouter(prefix="/api/knowledge/v1", tags=["graph"])
Collection = Annotated[str | None, Query(max_length=63)]
AsOf = Annotated[dt.datetime | None, Query(description="ISO time; facts valid then (default: now)")]


def get_graph(request: Request) -> GraphStore:
    graph: GraphStore = request.app.state.graph
    return graph


GraphDep = Annotated[GraphStore, Depends(get_graph)]


class EntityOut(BaseModel):
    id: str
    name: str
    type: str
    aliases: list[str]

    @classmethod
    def of(cls, entity: Entity) -> EntityOut:
        return cls(id=entity.id, name=entity.name, type=entity.type, aliases=list(entity.aliases))


class Citation(BaseModel):
    document_id: str
    chunk_id: str
    source: str
    start: int
    end: int
    page: int | None
    text: str


class FactOut(BaseModel):
    id: str
    source_id: str
    relation: str
    target_id: str
    document_id: str
    chunk_id: str
    model: str
    extracted_at: dt.datetime
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    citation: Citation | None = Field(description="the exact passage the fact was read from; null when "
                                                  "that document version has been superseded")


class GraphOut(BaseModel):
    entities: list[EntityOut]
    facts: list[FactOut]


class EntityDetail(EntityOut):
    facts: list[FactOut]


class CypherRequest(BaseModel):
    query: str = Field(description="a read-only Cypher query; pass values as $parameters")
    parameters: dict[str, Any] = Field(default_factory=dict)
    collection: str | None = Field(default=None, max_length=63)
    timeout_ms: int = Field(default=2000, ge=10, le=30_000)


class CypherResult(BaseModel):
    columns: list[str]
    rows: list[list[Any]]


def _epoch(when: dt.datetime | None) -> float:
    if when is None:
        return time.time()
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def _time(value: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value, tz=dt.UTC) if value is not None else None


def _at(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


async def _facts_out(request: Request, facts: list[Fact]) -> list[FactOut]:
    async with request.app.state.resources.db.connection() as conn:
        chunks = {r["chunk_id"]: r for r in await store.get_chunks(conn=conn, chunk_ids=[f.chunk_id for f in facts])}
    out = []
    for fact in facts:
        row = chunks.get(fact.chunk_id)
        citation = Citation(document_id=row["document_id"], chunk_id=row["chunk_id"], source=row["source"],
                            start=row["start_offset"], end=row["end_offset"], page=row["page"],
                            text=row["text"]) if row else None
        out.append(FactOut(id=fact.id, source_id=fact.source_id, relation=fact.relation, target_id=fact.target_id,
                           document_id=fact.document_id, chunk_id=fact.chunk_id, model=fact.model,
                           extracted_at=_at(fact.extracted_at), valid_from=_at(fact.valid_from),
                           valid_to=_time(fact.valid_to), citation=citation))
    return out


async def _entity(request: Request, collection: str, entity_id: str) -> Entity:
    try:
        key = str(uuid.UUID(entity_id))
    except ValueError as exc:
        raise NotFound(f"no entity {entity_id}") from exc
    async with request.app.state.resources.db.connection() as conn:
        row = await (await conn.execute(
            "SELECT id::text, name, type, aliases FROM knowledge.entities WHERE id = %s AND collection = %s",
            (key, collection))).fetchone()
    if row is None:
        raise NotFound(f"no entity {entity_id}")
    return Entity(id=row["id"], name=row["name"], type=row["type"], aliases=tuple(row["aliases"]))


async def _graph_out(request: Request, subgraph: Subgraph) -> GraphOut:
    return GraphOut(entities=[EntityOut.of(e) for e in subgraph.entities],
                    facts=await _facts_out(request, subgraph.facts))


@router.get("/entities", response_model=list[EntityOut], summary="Find entities by name or alias")
async def find_entities(request: Request, principal: CurrentPrincipal,
                        q: Annotated[str, Query(min_length=1, max_length=200)], collection: Collection = None,
                        limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[EntityOut]:
    from sutazai.knowledge.graph.extraction import normalise

    name = access.require(principal, collection)
    norm = normalise(q)
    async with request.app.state.resources.db.connection() as conn:
        rows = await (await conn.execute(
            """SELECT id::text, name, type, aliases FROM knowledge.entities
                WHERE collection = %s AND (norm LIKE %s OR EXISTS (SELECT 1 FROM unnest(aliases) a WHERE a LIKE %s))
                ORDER BY (norm = %s) DESC, length(norm), name LIMIT %s""",
            (name, f"%{norm}%", f"%{norm}%", norm, limit))).fetchall()
    return [EntityOut(id=r["id"], name=r["name"], type=r["type"], aliases=list(r["aliases"])) for r in rows]


@router.get("/entities/{entity_id}", response_model=EntityDetail, summary="An entity and the facts about it")
async def get_entity(entity_id: str, request: Request, principal: CurrentPrincipal, graph: GraphDep,
                     collection: Collection = None, as_of: AsOf = None) -> EntityDetail:
    name = access.require(principal, collection)
    entity = await _entity(request, name, entity_id)
    facts = await graph.facts_of(name, entity.id, as_of=_epoch(as_of))
    return EntityDetail(**EntityOut.of(entity).model_dump(), facts=await _facts_out(request, facts))


@router.get("/entities/{entity_id}/neighbourhood", response_model=GraphOut,
            summary="Entities and facts within k hops, valid as of a time")
async def neighbourhood(entity_id: str, request: Request, principal: CurrentPrincipal, graph: GraphDep,
                        collection: Collection = None, hops: Annotated[int, Query(ge=1, le=MAX_HOPS)] = 1,
                        as_of: AsOf = None,
                        relation: Annotated[list[str] | None, Query(description="only these relations")] = None,
                        ) -> GraphOut:
    name = access.require(principal, collection)
    entity = await _entity(request, name, entity_id)
    subgraph = await graph.neighbourhood(name, entity.id, hops=hops, as_of=_epoch(as_of), relations=relation or [])
    return await _graph_out(request, subgraph)


@router.get("/paths", response_model=list[GraphOut], summary="Paths between two entities, shortest first")
async def paths(request: Request, principal: CurrentPrincipal, graph: GraphDep,
                source: Annotated[str, Query(alias="from")], target: Annotated[str, Query(alias="to")],
                collection: Collection = None, max_hops: Annotated[int, Query(ge=1, le=MAX_HOPS)] = 3,
                as_of: AsOf = None, limit: Annotated[int, Query(ge=1, le=20)] = 5) -> list[GraphOut]:
    name = access.require(principal, collection)
    start, end = await _entity(request, name, source), await _entity(request, name, target)
    found = await graph.paths(name, start.id, end.id, max_hops=max_hops, as_of=_epoch(as_of), limit=limit)
    return [await _graph_out(request, path) for path in found]


AdminPrincipal = Annotated[Principal, Depends(require_role(Role.admin))]


@router.post("/cypher", response_model=CypherResult, summary="Read-only Cypher over one collection's graph "
             "(admins whose key is not limited to collections)")
async def run_cypher(body: CypherRequest, admin: AdminPrincipal, graph: GraphDep) -> CypherResult:
    if admin.collections:
        raise Forbidden("Cypher is for admin keys not limited to collections; a scoped key could otherwise "
                        "reach beyond its collections")
    name = access.check_name(body.collection or access.DEFAULT_COLLECTION)
    columns, rows = await graph.read_only(name, admit(body.query), body.parameters, timeout_ms=body.timeout_ms)
    return CypherResult(columns=columns, rows=rows)
