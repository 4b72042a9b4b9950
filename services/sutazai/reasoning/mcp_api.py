"""SutazAI as a Model Context Protocol server: `/mcp`, Streamable HTTP (stateless, JSON answers,
so any replica behind HAProxy can take any request), on the reasoning service.

Tools: `ask` (the full pipeline: the answer with its trace id, citations and confidence), `search`
(hybrid search of a collection), `document` (one document's record) and `graph_neighbourhood`
(the cited facts around an entity). Every request carries an API key or session token as its
bearer, checked as the HTTP API checks it (the same failed-attempt limits) before the MCP server
sees the request; each tool then acts as that caller: `ask` through the reasoner with the caller's
principal (so the trace, the audit entry and the collection scopes are the caller's), the others
through the knowledge service's HTTP API with the caller's credential (its scopes, rate limits and
audit apply as they would to the same call over HTTP). A refusal (no access to the collection, not
found, bad arguments) is a tool error with the reason, never a crash of the session."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sutazai.lib.access import Principal
from sutazai.lib.deps import components_of
from sutazai.lib.errors import SutazaiError, Unauthenticated, problem_response
from sutazai.lib.security import credential_from
from sutazai.reasoning.answers import AskOptions
from sutazai.reasoning.wiring import ReasoningComponents

logger = logging.getLogger(__name__)

PATH = "/mcp"
INSTRUCTIONS = ("SutazAI answers questions from an organisation's own documents with local models. Use `ask` for a "
                "question (the answer cites its sources and says how sure it is, or says it does not know); "
                "`search` for passages; `document` for a document's record; `graph_neighbourhood` for the facts "
                "around a person, company or place. Name a collection when the key may read several.")


class McpApi:
    """The MCP server of one reasoning app, and the route and lifespan that serve it."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self.server = MCPServer("SutazAI", instructions=INSTRUCTIONS)
        self._register()
        self._http = self.server.streamable_http_app(
            streamable_http_path=PATH, json_response=True, stateless_http=True,
            # every request must carry a valid bearer (checked before the server sees it), so a page
            # a browser was tricked into loading cannot use it: no Host/Origin allow-list is needed
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))

    def attach(self) -> None:
        """Serve /mcp on the app (the bearer checked first) and run the session manager with the
        app's lifespan."""
        endpoint = next(r.endpoint for r in self._http.routes if isinstance(r, Route) and r.path == PATH)
        assert isinstance(endpoint, StreamableHTTPASGIApp)  # noqa: S101 - the SDK's own route
        self._app.router.routes.append(Route(PATH, endpoint=_Gate(self._app, endpoint)))
        inner = self._app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
            async with inner(app) as state, self.server.session_manager.run():
                yield state

        self._app.router.lifespan_context = lifespan

    # -- the caller ------------------------------------------------------------------------------

    def _components(self) -> ReasoningComponents:
        return components_of(self._app, ReasoningComponents)

    async def _caller(self, ctx: Context) -> tuple[Principal, str]:
        try:  # checked (and counted) once at the door already; this finds whose call it is
            request = ctx.request_context.request
            raw = credential_from(request) if isinstance(request, Request) else None
            if raw is None:
                raise Unauthenticated("no credential: send an API key as 'Authorization: Bearer <key>'")
            return await self._components().authenticator.authenticate(raw, limited=False), raw
        except SutazaiError as exc:
            raise ToolError(exc.detail) from exc

    # -- the tools -------------------------------------------------------------------------------

    def _register(self) -> None:
        server = self.server

        @server.tool(description="Ask a question. The answer comes with its citations (the passages it rests on), "
                                 "its confidence (0 to 1), where it comes from (documents, computed, the model's "
                                 "general knowledge) and the trace id of the reasoning, or says it does not know.")
        async def ask(question: Annotated[str, Field(min_length=1, max_length=4000)], ctx: Context,
                      collection: Annotated[str | None, Field(max_length=63)] = None) -> dict[str, Any]:
            principal, raw = await self._caller(ctx)
            try:
                answer = await self._components().reasoner.ask(question=question, principal=principal,
                                                               collection=collection, options=AskOptions(),
                                                               credential=raw)
            except SutazaiError as exc:
                raise ToolError(exc.detail) from exc
            return {"answer": answer.answer, "abstained": answer.abstained, "confidence": answer.confidence,
                    "grounding": answer.grounding, "trace_id": str(answer.trace_id), "model": answer.model,
                    "citations": answer.citations, "reason": answer.reason}

        @server.tool(description="Hybrid search (keywords and meaning) of a collection: the best passages, each "
                                 "with its document, source, page and exact text.")
        async def search(query: Annotated[str, Field(min_length=1, max_length=2000)], ctx: Context,
                         collection: Annotated[str | None, Field(max_length=63)] = None,
                         k: Annotated[int, Field(ge=1, le=50)] = 5) -> dict[str, Any]:
            _, raw = await self._caller(ctx)
            params: dict[str, Any] = {"q": query, "k": k, **({"collection": collection} if collection else {})}
            try:
                found = await self._components().knowledge.search(credential=raw, **params)
            except SutazaiError as exc:
                raise ToolError(exc.detail) from exc
            return found.model_dump(mode="json")

        @server.tool(description="One document's record: its source, collection, title, status, version and "
                                 "chunk count.")
        async def document(document_id: Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{36}$")],
                           ctx: Context) -> dict[str, Any]:
            _, raw = await self._caller(ctx)
            try:
                return await self._components().knowledge.document(document_id, credential=raw)
            except SutazaiError as exc:
                raise ToolError(exc.detail) from exc

        @server.tool(description="The knowledge graph around an entity named like `name` (a person, company, "
                                 "place, ...): its facts within `hops` steps, each citing the passage it was read "
                                 "from.")
        async def graph_neighbourhood(name: Annotated[str, Field(min_length=1, max_length=200)], ctx: Context,
                                      collection: Annotated[str | None, Field(max_length=63)] = None,
                                      hops: Annotated[int, Field(ge=1, le=3)] = 1) -> dict[str, Any]:
            _, raw = await self._caller(ctx)
            scope = {"collection": collection} if collection else {}
            knowledge = self._components().knowledge
            try:
                found = await knowledge.entities(credential=raw, q=name, limit=1, **scope)
                if not found:
                    raise ToolError(f"no entity named like {name!r} in the knowledge graph"
                                    + (f" of collection {collection!r}" if collection else ""))
                graph = await knowledge.neighbourhood(found[0].id, credential=raw, hops=hops, **scope)
            except SutazaiError as exc:
                raise ToolError(exc.detail) from exc
            return {"entity": found[0].model_dump(mode="json"), **graph.model_dump(mode="json")}


class _Gate:
    """The door of /mcp: a request without a valid bearer is refused with the HTTP API's 401
    problem (and counted against the address's failed-attempt limit) before the MCP server runs."""

    def __init__(self, app: FastAPI, inner: ASGIApp) -> None:
        self._app, self._inner = app, inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        try:
            raw = credential_from(Request(scope))
            if raw is None:
                raise Unauthenticated("no credential: send an API key as 'Authorization: Bearer <key>'")
            await components_of(self._app, ReasoningComponents).authenticator.authenticate(
                raw, address=client[0] if client else None)
        except SutazaiError as exc:
            await problem_response(exc, instance=PATH)(scope, receive, send)
            return
        await self._inner(scope, receive, send)


def attach(app: FastAPI) -> McpApi:
    api = McpApi(app)
    api.attach()
    return api
