"""Tools over the knowledge service's HTTP API (search, entity lookup, paths). They call it
with the asking user's own credential, so a user reaches only the collections they may."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from sutazai.lib.errors import Forbidden, NotFound, SutazaiError
from sutazai.lib.http_client import ResilientClient
from sutazai.reasoning.tools.base import ToolContext, ToolFailed, expect

API = "/api/knowledge/v1"


class KnowledgeClient:
    """Calls to the knowledge service made on behalf of the asking user. Its refusals (403: not
    your collection; 404: no such collection or item) come back as the same domain errors."""

    def __init__(self, client: ResilientClient) -> None:
        self._client = client

    async def get(self, path: str, ctx: ToolContext, **params: Any) -> Any:
        if ctx.credential is None:
            raise ToolFailed("no credential to call the knowledge service with")
        if ctx.collection:
            params["collection"] = ctx.collection
        try:
            response = await self._client.request(
                "GET", API + path, params=params, headers={"Authorization": f"Bearer {ctx.credential}"})
        except SutazaiError as exc:
            raise ToolFailed(f"knowledge service: {exc.detail}") from exc
        if response.status_code >= 400:
            detail = response.json().get("detail", response.text) if response.content else response.reason_phrase
            if response.status_code in _REFUSALS:
                raise _REFUSALS[response.status_code](str(detail))
            raise ToolFailed(f"knowledge service answered {response.status_code}: {detail}")
        return response.json()


_REFUSALS: dict[int, type[SutazaiError]] = {403: Forbidden, 404: NotFound}


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

    def __init__(self, client: KnowledgeClient) -> None:
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
        body = await self._client.get("/search", ctx, q=data.query, k=k, **known, **weighted)
        found = [Passage(chunk_id=h["chunk_id"], document_id=h["document_id"], source=h["source"],
                         text=h["text"], score=h["score"], heading=h.get("heading")) for h in body["hits"]]
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


def _facts(body: dict[str, Any]) -> GraphOutput:
    names = {e["id"]: e["name"] for e in body["entities"]}
    facts = [Fact(subject=names.get(f["source_id"], f["source_id"]), relation=f["relation"],
                  object=names.get(f["target_id"], f["target_id"]), chunk_id=f["chunk_id"],
                  document_id=f["document_id"], text=(f.get("citation") or {}).get("text"))
             for f in body["facts"]]
    return GraphOutput(entities=sorted(names.values()), facts=facts)


class GraphLookup:
    name: ClassVar[str] = "graph_lookup"
    kind: ClassVar[str] = "retrieve"
    description: ClassVar[str] = "an entity of the knowledge graph and the facts around it"
    input_model: ClassVar[type[BaseModel]] = GraphLookupInput
    output_model: ClassVar[type[BaseModel]] = GraphOutput

    def __init__(self, client: KnowledgeClient) -> None:
        self._client = client

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        data = expect(data, GraphLookupInput)
        found = await self._client.get("/entities", ctx, q=data.name, limit=1)
        if not found:
            return GraphOutput(entities=[], facts=[])
        return _facts(await self._client.get(f"/entities/{found[0]['id']}/neighbourhood", ctx, hops=1))


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

    def __init__(self, client: KnowledgeClient) -> None:
        self._client = client

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        data = expect(data, GraphPathInput)
        ends = []
        for name in (data.source, data.target):
            found = await self._client.get("/entities", ctx, q=name, limit=1)
            if not found:
                return GraphOutput(entities=[], facts=[])
            ends.append(found[0]["id"])
        paths = await self._client.get("/paths", ctx, max_hops=data.max_hops, limit=1,
                                       **{"from": ends[0], "to": ends[1]})
        return _facts(paths[0]) if paths else GraphOutput(entities=[], facts=[])
