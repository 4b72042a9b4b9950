"""HTTP adapter of the MCP servers the planner may use: register (its tools are listed at once),
list, list again, remove. Platform admins only; every change is audited as the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from sutazai.lib.contracts import reasoning as contract
from sutazai.lib.contracts.reasoning import McpServerIn, McpServerOut, McpToolOut
from sutazai.lib.deps import CurrentPrincipal, PlatformAdmin, provide
from sutazai.lib.security import credential_from
from sutazai.reasoning.mcp_client import McpServerRow, McpServers, NewServer
from sutazai.reasoning.wiring import ReasoningComponents

router = APIRouter(prefix=contract.PREFIX, tags=["mcp servers"])
_components = provide(ReasoningComponents)


def _servers(components: Annotated[ReasoningComponents, Depends(_components)]) -> McpServers:
    return components.mcp_servers


Servers = Annotated[McpServers, Depends(_servers)]


def server_out(row: McpServerRow) -> McpServerOut:
    return McpServerOut(name=row.name, url=row.url, has_secret=row.secret is not None, collections=row.collections,
                        min_role=row.min_role, timeout_seconds=row.timeout_seconds,
                        max_output_chars=row.max_output_chars,
                        tools=[McpToolOut(name=t["name"], description=t["description"], input_schema=t["schema"])
                               for t in row.tools],
                        refused=row.refused, listed_at=row.listed_at, created_by=row.created_by)


@router.post("/mcp-servers", response_model=McpServerOut, status_code=201, summary="Register an internal MCP "
             "server whose tools the planner may call (its tools are listed now; a tool whose input schema is "
             "not valid is left out with the reason)")
async def register(body: McpServerIn, request: Request, principal: PlatformAdmin, servers: Servers) -> McpServerOut:
    new = NewServer(name=body.name, url=body.url, secret=body.secret, collections=tuple(body.collections),
                    min_role=body.min_role, timeout_seconds=body.timeout_seconds,
                    max_output_chars=body.max_output_chars)
    return server_out(await servers.register(new, by=principal, credential=credential_from(request)))


@router.get("/mcp-servers", response_model=list[McpServerOut], summary="Registered MCP servers (admins: all; "
            "others: those they may use)")
async def list_servers(principal: CurrentPrincipal, servers: Servers) -> list[McpServerOut]:
    return [server_out(r) for r in await servers.servers(by=principal)]


@router.post("/mcp-servers/{name}/refresh", response_model=McpServerOut, summary="List the server's tools again")
async def refresh(name: str, principal: PlatformAdmin, servers: Servers) -> McpServerOut:
    return server_out(await servers.refresh(name, by=principal))


@router.delete("/mcp-servers/{name}", status_code=204, summary="Remove a registered MCP server")
async def remove(name: str, request: Request, principal: PlatformAdmin, servers: Servers) -> None:
    await servers.remove(name, by=principal, credential=credential_from(request))
