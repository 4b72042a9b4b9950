"""Typed client of the knowledge service (used by reasoning's tools, learning and metacognition)."""

from __future__ import annotations

from typing import Any

from sutazai.lib.clients.base import ServiceClient
from sutazai.lib.contracts import knowledge as contract
from sutazai.lib.contracts.knowledge import CollectionOut, EntityDetail, EntityOut, GraphOut, SearchResponse


class KnowledgeClient(ServiceClient):
    service = "knowledge"

    async def search(self, *, credential: str, **params: Any) -> SearchResponse:
        """GET /search with its query parameters (q, collection, k, mode, w_keyword, w_vector, known, ...)."""
        response = await self.call("GET", contract.SEARCH, credential=credential, params=params)
        return self.parse(response, SearchResponse)

    async def collections(self, *, credential: str) -> list[CollectionOut]:
        response = await self.call("GET", contract.COLLECTIONS, credential=credential)
        return self.parse_as(response, list[CollectionOut])

    async def entities(self, *, credential: str, **params: Any) -> list[EntityOut]:
        response = await self.call("GET", contract.ENTITIES, credential=credential, params=params)
        return self.parse_as(response, list[EntityOut])

    async def entity(self, entity_id: str, *, credential: str, **params: Any) -> EntityDetail:
        response = await self.call("GET", f"{contract.ENTITIES}/{entity_id}", credential=credential, params=params)
        return self.parse(response, EntityDetail)

    async def neighbourhood(self, entity_id: str, *, credential: str, **params: Any) -> GraphOut:
        response = await self.call("GET", f"{contract.ENTITIES}/{entity_id}/neighbourhood", credential=credential,
                                   params=params)
        return self.parse(response, GraphOut)

    async def document(self, document_id: str, *, credential: str) -> dict[str, Any]:
        """GET /documents/{id}: the document's source, collection, status, version, chunks, title."""
        response = await self.call("GET", f"{contract.DOCUMENTS}/{document_id}", credential=credential)
        return self.parse_as(response, dict[str, Any])

    async def paths(self, *, credential: str, **params: Any) -> list[GraphOut]:
        response = await self.call("GET", contract.PATHS, credential=credential, params=params)
        return self.parse_as(response, list[GraphOut])
