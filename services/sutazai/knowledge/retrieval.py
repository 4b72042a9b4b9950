"""Hybrid retrieval: keyword and vector candidates from the search index, fused with
reciprocal-rank fusion, then joined with the chunk store so each hit cites exact text."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sutazai.knowledge.graph.interface import GraphStore
from sutazai.knowledge.graph.names import normalise
from sutazai.knowledge.passages import PassageSource
from sutazai.knowledge.search.interface import Hit, SearchFilters, SearchIndex, reciprocal_rank_fusion
from sutazai.lib.contracts.knowledge import SearchMode
from sutazai.lib.errors import ValidationFailed
from sutazai.lib.models import Embedder


@dataclass(frozen=True)
class FusionWeights:
    """How much each ranked list counts in the fusion (1, 1, 1: plain reciprocal-rank fusion)."""

    keyword: float = 1.0
    vector: float = 1.0
    graph: float = 1.0

    def __post_init__(self) -> None:
        values = (self.keyword, self.vector, self.graph)
        if any(not 0.0 <= v <= MAX_WEIGHT for v in values):
            raise ValidationFailed(f"fusion weights must lie between 0 and {MAX_WEIGHT:g}")
        if self.keyword == 0.0 and self.vector == 0.0:
            raise ValidationFailed("the keyword and vector weights cannot both be 0; one list must count")


MAX_WEIGHT = 5.0


@dataclass(frozen=True)
class SearchResult:
    chunk_id: str
    document_id: str
    collection: str
    source: str
    title: str | None
    heading: str | None
    page: int | None
    start: int
    end: int
    text: str
    score: float
    keyword_rank: int | None
    vector_rank: int | None
    graph_rank: int | None = None


class Retriever:
    """Hybrid search that returns exact, citable passages; knows nothing of HTTP."""

    def __init__(self, *, passages: PassageSource, index: SearchIndex, embedder: Embedder,
                 graph: GraphStore | None = None, max_query_chars: int = 2000) -> None:
        self._passages, self._index, self._embedder, self._max = passages, index, embedder, max_query_chars
        self._graph = graph

    async def search(
        self, *, query: str, filters: SearchFilters, k: int = 10, mode: SearchMode = SearchMode.hybrid,
        candidates: int = 50, weights: FusionWeights | None = None,
    ) -> list[SearchResult]:
        text = query.strip()
        if not text:
            raise ValidationFailed("q is empty; send the words to search for")
        if len(text) > self._max:
            raise ValidationFailed(f"q is {len(text)} characters; the limit is {self._max}")
        pool = max(candidates, k)
        keyword, vector = await asyncio.gather(
            self._index.keyword(text, filters, pool) if mode != SearchMode.vector else _none(),
            self._vector(text, filters, pool) if mode != SearchMode.keyword else _none(),
        )
        graph = await self._graph_hits(text, filters, pool) if mode is SearchMode.hybrid_graph else []
        w = weights or FusionWeights()
        lists = [(r, weight) for r, weight in ((keyword, w.keyword), (vector, w.vector), (graph, w.graph)) if r]
        ranked = reciprocal_rank_fusion([r for r, _ in lists], weights=[weight for _, weight in lists])[:k]
        return await self._materialise(ranked, keyword, vector, graph)

    async def _graph_hits(self, text: str, filters: SearchFilters, k: int) -> list[Hit]:
        """Chunks that state facts about entities the query names, most facts first."""
        if self._graph is None:
            return []
        rows = await self._passages.entities_named_in(filters.collections, normalise(text), 8)
        counts: dict[str, int] = {}
        for row in rows:
            for fact in await self._graph.facts_of(row["collection"], row["id"], as_of=time.time()):
                counts[fact.chunk_id] = counts.get(fact.chunk_id, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [Hit(chunk_id, float(n)) for chunk_id, n in ranked]

    async def _vector(self, text: str, filters: SearchFilters, k: int) -> list[Hit]:
        [embedding] = await self._embedder.embed([text], kind="query")
        return await self._index.vector(embedding, filters, k)

    async def _materialise(self, ranked: list[Hit], keyword: list[Hit], vector: list[Hit],
                           graph: list[Hit]) -> list[SearchResult]:
        if not ranked:
            return []
        rows = {r["chunk_id"]: r for r in await self._passages.chunks([h.chunk_id for h in ranked])}
        k_rank = {h.chunk_id: i for i, h in enumerate(keyword, start=1)}
        v_rank = {h.chunk_id: i for i, h in enumerate(vector, start=1)}
        g_rank = {h.chunk_id: i for i, h in enumerate(graph, start=1)}
        return [_result(rows[h.chunk_id], h.score, k_rank.get(h.chunk_id), v_rank.get(h.chunk_id),
                        g_rank.get(h.chunk_id)) for h in ranked if h.chunk_id in rows]


async def _none() -> list[Hit]:
    return []


def _result(row: dict[str, Any], score: float, k_rank: int | None, v_rank: int | None,
            g_rank: int | None) -> SearchResult:
    return SearchResult(
        chunk_id=row["chunk_id"], document_id=row["document_id"], collection=row["collection"],
        source=row["source"], title=row["title"], heading=row["heading"], page=row["page"],
        start=row["start_offset"], end=row["end_offset"], text=row["text"], score=round(score, 6),
        keyword_rank=k_rank, vector_rank=v_rank, graph_rank=g_rank,
    )
