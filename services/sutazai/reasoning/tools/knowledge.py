"""Tools over the knowledge service's API (search, entity lookup, paths), through its typed client
(lib.clients.knowledge). They call it with the asking user's own credential, so a user reaches
only the collections they may."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from sutazai.lib.clients.knowledge import KnowledgeClient
from sutazai.lib.contracts.knowledge import GraphOut, SearchResponse
from sutazai.lib.errors import Forbidden, NotFound, SutazaiError
from sutazai.reasoning.tools.base import ToolContext, ToolFailed, expect


class KnowledgeCalls:
    """Calls to the knowledge service (its typed client) made on behalf of the asking user: the
    user's credential and the question's collection go with each. Its refusals (403: not your
    collection; 404: no such collection or item) come back as those domain errors; any other
    failure is a failed step."""

    def __init__(self, client: KnowledgeClient) -> None:
        self._client = client

    def _scope(self, ctx: ToolContext, params: dict[str, Any]) -> str:
        if ctx.credential is None:
            raise ToolFailed("no credential to call the knowledge service with")
        if ctx.collection:
            params["collection"] = ctx.collection
        return ctx.credential

    async def search(self, ctx: ToolContext, **params: Any) -> SearchResponse:
        credential = self._scope(ctx, params)
        with _failed_step():
            return await self._client.search(credential=credential, **params)

    async def first_entity(self, ctx: ToolContext, name: str) -> str | None:
        params: dict[str, Any] = {"q": name, "limit": 1}
        credential = self._scope(ctx, params)
        with _failed_step():
            found = await self._client.entities(credential=credential, **params)
        return found[0].id if found else None

    async def neighbourhood(self, ctx: ToolContext, entity_id: str, **params: Any) -> GraphOut:
        credential = self._scope(ctx, params)
        with _failed_step():
            return await self._client.neighbourhood(entity_id, credential=credential, **params)

    async def paths(self, ctx: ToolContext, **params: Any) -> list[GraphOut]:
        credential = self._scope(ctx, params)
        with _failed_step():
            return await self._client.paths(credential=credential, **params)


@contextmanager
def _failed_step() -> Iterator[None]:
    try:
        yield
    except (Forbidden, NotFound):
        raise
    except SutazaiError as exc:
        raise ToolFailed(f"knowledge service: {exc.detail}") from exc


class Passage(BaseModel):
    chunk_id: str
    document_id: str
    source: str
    text: str
    score: float
    heading: str | None = Field(default=None, description="the section the passage is in (and, for a part of "
                                                          "a long table, the table's header line)")


class FusionWeights(BaseModel):
    keyword: float = Field(default=1.0, ge=0.0, le=5.0)
    vector: float = Field(default=1.0, ge=0.0, le=5.0)


class SearchInput(BaseModel):
    query: str = Field(min_length=1, max_length=1000)
    k: int = Field(default=4, ge=1, le=20)
    weights: FusionWeights | None = Field(default=None, description="how the keyword and vector rankings count "
                                          "in the fusion (plain reciprocal-rank fusion when absent)")


class SearchOutput(BaseModel):
    passages: list[Passage]


class KnowledgeSearch:
    name: ClassVar[str] = "search"
    kind: ClassVar[str] = "retrieve"
    description: ClassVar[str] = "hybrid search over the collection's documents"
    input_model: ClassVar[type[BaseModel]] = SearchInput
    output_model: ClassVar[type[BaseModel]] = SearchOutput

    def __init__(self, client: KnowledgeCalls) -> None:
        self._client = client

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        """The top k passages; those marked wrong for a close question (memory's demotions) go
        after every other, so they drop out when enough others were found."""
        data = expect(data, SearchInput)
        known = {"known": "true"} if ctx.named else {}  # a named collection must exist: 404 otherwise
        demoted = ctx.memory.demoted
        k = min(data.k + len(demoted), 20) if demoted else data.k
        weighted = ({"w_keyword": data.weights.keyword, "w_vector": data.weights.vector}
                    if data.weights is not None else {})
        body = await self._client.search(ctx, q=data.query, k=k, **known, **weighted)
        found = [Passage(chunk_id=h.chunk_id, document_id=h.document_id, source=h.source, text=h.text,
                         score=h.score, heading=h.heading) for h in body.hits]
        ranked = [p for p in found if p.chunk_id not in demoted] + [p for p in found if p.chunk_id in demoted]
        return SearchOutput(passages=ranked[:data.k])


class Fact(BaseModel):
    subject: str
    relation: str
    object: str
    chunk_id: str
    document_id: str
    text: str | None = Field(description="the passage the fact was read from")


class GraphLookupInput(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="an entity name or alias")


class GraphOutput(BaseModel):
    entities: list[str]
    facts: list[Fact]


def _facts(graph: GraphOut) -> GraphOutput:
    names = {e.id: e.name for e in graph.entities}
    facts = [Fact(subject=names.get(f.source_id, f.source_id), relation=f.relation,
                  object=names.get(f.target_id, f.target_id), chunk_id=f.chunk_id, document_id=f.document_id,
                  text=f.citation.text if f.citation else None)
             for f in graph.facts]
    return GraphOutput(entities=sorted(names.values()), facts=facts)


class GraphLookup:
    name: ClassVar[str] = "graph_lookup"
    kind: ClassVar[str] = "retrieve"
    description: ClassVar[str] = "an entity of the knowledge graph and the facts around it"
    input_model: ClassVar[type[BaseModel]] = GraphLookupInput
    output_model: ClassVar[type[BaseModel]] = GraphOutput

    def __init__(self, client: KnowledgeCalls) -> None:
        self._client = client

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        data = expect(data, GraphLookupInput)
        found = await self._client.first_entity(ctx, data.name)
        if found is None:
            return GraphOutput(entities=[], facts=[])
        return _facts(await self._client.neighbourhood(ctx, found, hops=1))


class GraphPathInput(BaseModel):
    source: str = Field(min_length=1, max_length=200)
    target: str = Field(min_length=1, max_length=200)
    max_hops: int = Field(default=3, ge=1, le=4)


class GraphPath:
    name: ClassVar[str] = "graph_path"
    kind: ClassVar[str] = "retrieve"
    description: ClassVar[str] = "how two entities of the knowledge graph are connected"
    input_model: ClassVar[type[BaseModel]] = GraphPathInput
    output_model: ClassVar[type[BaseModel]] = GraphOutput

    def __init__(self, client: KnowledgeCalls) -> None:
        self._client = client

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        data = expect(data, GraphPathInput)
        ends = []
        for name in (data.source, data.target):
            found = await self._client.first_entity(ctx, name)
            if found is None:
                return GraphOutput(entities=[], facts=[])
            ends.append(found)
        paths = await self._client.paths(ctx, max_hops=data.max_hops, limit=1, **{"from": ends[0], "to": ends[1]})
        return _facts(paths[0]) if paths else GraphOutput(entities=[], facts=[])
