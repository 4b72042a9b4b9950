"""Elasticsearch 8 search index (Compose): BM25 on text and heading, dense_vector kNN with
cosine similarity, filters applied inside both queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import elasticsearch as es
from elasticsearch import AsyncElasticsearch, NotFoundError
from elasticsearch.helpers import async_bulk

from sutazai.knowledge.search.interface import Hit, IndexedChunk, SearchFilters
from sutazai.lib.errors import (
    DependencyTimeout,
    DependencyUnavailable,
    ErrorMapping,
    SutazaiError,
    ValidationFailed,
    translated,
)


def _overloaded(exc: es.ApiError) -> SutazaiError | None:
    return DependencyUnavailable(f"Elasticsearch is overloaded or failing ({exc.status_code}): {exc.message}") \
        if exc.status_code == 429 or exc.status_code >= 500 else None


ELASTICSEARCH_ERRORS: ErrorMapping = (
    (es.ConnectionTimeout, lambda e: DependencyTimeout(f"Elasticsearch did not answer in time: {e}")),
    (es.ConnectionError, lambda e: DependencyUnavailable(f"Elasticsearch is unreachable: {e}")),
    (es.AuthenticationException, lambda e: DependencyUnavailable(
        f"Elasticsearch refused the configured credentials: {e.message}")),
    (es.AuthorizationException, lambda e: DependencyUnavailable(
        f"the configured Elasticsearch user may not do this: {e.message}")),
    (es.BadRequestError, lambda e: ValidationFailed(f"Elasticsearch refused the search: {e.message}")),
    (es.ApiError, _overloaded),
    (es.TransportError, lambda e: DependencyUnavailable(f"Elasticsearch cannot be used: {e}")),
)
"""How Elasticsearch's errors reach callers: outages, overload and timeouts as 503/504, a search
it cannot parse (e.g. too many clauses from a very long query) as 422."""

MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "chunk_id": {"type": "keyword"},
        "document_id": {"type": "keyword"},
        "collection": {"type": "keyword"},
        "tags": {"type": "keyword"},
        "doc_date": {"type": "date"},
        "heading": {"type": "text", "analyzer": "english"},
        "text": {"type": "text", "analyzer": "english"},
        "embedding": {"type": "dense_vector", "dims": 384, "index": True, "similarity": "cosine"},
    },
}


def _filters(filters: SearchFilters) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = [{"terms": {"collection": list(filters.collections)}}]
    if filters.document_ids:
        clauses.append({"terms": {"document_id": list(filters.document_ids)}})
    for tag in filters.tags:
        clauses.append({"term": {"tags": tag}})
    if filters.date_from or filters.date_to:
        bounds = {}
        if filters.date_from:
            bounds["gte"] = filters.date_from.isoformat()
        if filters.date_to:
            bounds["lte"] = filters.date_to.isoformat()
        clauses.append({"range": {"doc_date": bounds}})
    return clauses


class ElasticsearchSearchIndex:
    name = "elasticsearch"

    def __init__(self, client: AsyncElasticsearch, *, index: str = "sutazai-chunks") -> None:
        self._es, self._index = client, index

    @classmethod
    def from_url(cls, url: str, *, username: str | None = None, password: str | None = None,
                 index: str = "sutazai-chunks") -> ElasticsearchSearchIndex:
        auth = (username, password) if username and password else None
        return cls(AsyncElasticsearch(url, basic_auth=auth, request_timeout=30, retry_on_timeout=True,
                                      max_retries=2), index=index)

    async def ensure_ready(self) -> None:
        with translated(ELASTICSEARCH_ERRORS):
            if not await self._es.indices.exists(index=self._index):
                await self._es.indices.create(index=self._index, mappings=MAPPING,
                                              settings={"number_of_replicas": 0})

    async def upsert(self, chunks: Sequence[IndexedChunk]) -> None:
        with translated(ELASTICSEARCH_ERRORS):
            actions = [{
                "_op_type": "index", "_index": self._index, "_id": c.chunk_id,
                "_source": {"chunk_id": c.chunk_id, "document_id": c.document_id, "collection": c.collection,
                            "tags": c.tags, "doc_date": c.doc_date.isoformat(), "heading": c.heading or "",
                            "text": c.text, "embedding": list(c.embedding)},
            } for c in chunks]
            if actions:
                await async_bulk(self._es, actions, refresh="wait_for")

    async def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        with translated(ELASTICSEARCH_ERRORS):
            if chunk_ids:
                await self._es.delete_by_query(index=self._index, query={"ids": {"values": list(chunk_ids)}},
                                               refresh=True, conflicts="proceed")

    async def delete_document(self, document_id: str) -> None:
        with translated(ELASTICSEARCH_ERRORS):
            await self._es.delete_by_query(index=self._index, query={"term": {"document_id": document_id}},
                                           refresh=True, conflicts="proceed")

    async def keyword(self, query: str, filters: SearchFilters, k: int) -> list[Hit]:
        with translated(ELASTICSEARCH_ERRORS):
            body = {"bool": {"must": [{"multi_match": {"query": query, "fields": ["text", "heading^0.5"]}}],
                             "filter": _filters(filters)}}
            result = await self._es.search(index=self._index, query=body, size=k, source=False)
            return [Hit(h["_id"], float(h["_score"])) for h in result["hits"]["hits"]]

    async def vector(self, embedding: Sequence[float], filters: SearchFilters, k: int) -> list[Hit]:
        with translated(ELASTICSEARCH_ERRORS):
            knn = {"field": "embedding", "query_vector": list(embedding), "k": k,
                   "num_candidates": max(100, k * 10), "filter": {"bool": {"filter": _filters(filters)}}}
            result = await self._es.search(index=self._index, knn=knn, size=k, source=False)
            return [Hit(h["_id"], float(h["_score"])) for h in result["hits"]["hits"]]

    async def count(self, filters: SearchFilters) -> int:
        try:
            with translated(ELASTICSEARCH_ERRORS):
                result = await self._es.count(index=self._index, query={"bool": {"filter": _filters(filters)}})
        except NotFoundError:
            return 0
        return int(result["count"])

    async def ping(self) -> None:
        with translated(ELASTICSEARCH_ERRORS):
            answered = await self._es.ping()
        if not answered:
            raise DependencyUnavailable("Elasticsearch does not answer")

    async def close(self) -> None:
        await self._es.close()
