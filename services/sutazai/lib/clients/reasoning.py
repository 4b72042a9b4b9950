"""Typed client of the reasoning service (used by learning and metacognition)."""

from __future__ import annotations

import uuid
from typing import Any

from sutazai.lib.clients.base import ServiceClient
from sutazai.lib.contracts import reasoning as contract
from sutazai.lib.contracts.reasoning import AskRequest, AskResponse, Retrieval, Routes, Trace


class ReasoningClient(ServiceClient):
    service = "reasoning"

    async def ask(self, request: AskRequest, *, credential: str) -> AskResponse:
        response = await self.call("POST", contract.ASK, credential=credential,
                                   json=request.model_dump(mode="json", exclude_unset=True))
        return self.parse(response, AskResponse)

    async def chat(self, body: dict[str, Any], *, credential: str) -> dict[str, Any]:
        """The OpenAI-compatible chat completion (the bare model); its body as OpenAI defines it."""
        response = await self.call("POST", contract.CHAT_COMPLETIONS, credential=credential, json=body)
        answer: dict[str, Any] = response.json()
        return answer

    async def trace(self, trace_id: uuid.UUID, *, credential: str) -> Trace:
        """A stored trace the caller may read; NotFound otherwise."""
        response = await self.call("GET", contract.trace_path(trace_id), credential=credential)
        return self.parse(response, Trace)

    async def routes(self, *, credential: str) -> Routes:
        response = await self.call("GET", contract.ROUTES, credential=credential)
        return self.parse(response, Routes)

    async def put_routes(self, routes: dict[str, str], *, credential: str) -> Routes:
        response = await self.call("PUT", contract.ROUTES, credential=credential, json={"routes": routes})
        return self.parse(response, Routes)

    async def retrieval(self, *, credential: str) -> Retrieval:
        response = await self.call("GET", contract.RETRIEVAL, credential=credential)
        return self.parse(response, Retrieval)

    async def put_retrieval(self, retrieval: Retrieval, *, credential: str) -> Retrieval:
        response = await self.call("PUT", contract.RETRIEVAL, credential=credential,
                                   json=retrieval.model_dump(mode="json"))
        return self.parse(response, Retrieval)
