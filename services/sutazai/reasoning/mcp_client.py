"""SutazAI as an MCP client: internal MCP servers an admin registers, whose tools the planner may
call as steps. A server is reached only when its host is one the operator allowed
(SUTAZAI_MCP_HOSTS), with its credential (sealed at rest) as the bearer; a tool whose input schema
is not a valid JSON schema is refused when the server is listed (the reason kept, the other tools
kept); a call is bounded by the server's timeout and output limit, its arguments are checked
against the tool's schema before it is sent, and every failure (a hang, an error, a lie about its
output, too much output) is a ToolFailed the executor records as an error step."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from psycopg.errors import UniqueViolation

from sutazai.lib.access import Principal, Role, check_collection_name, rank
from sutazai.lib.db import Database
from sutazai.lib.errors import Conflict, DependencyUnavailable, Forbidden, NotFound, ValidationFailed
from sutazai.lib.field_crypto import FieldCipher
from sutazai.reasoning.store import mcp_servers as store
from sutazai.reasoning.store.mcp_servers import McpServerRow
from sutazai.reasoning.tools.external import Auditor, ExternalTool

__all__ = ["ExternalTool", "McpCallFailed", "McpServerRow", "McpServers", "NewServer"]
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MAX_TOOLS = 100


class McpCallFailed(Exception):
    """A call to a registered tool did not give a usable result; the message says why."""


@dataclass(frozen=True)
class NewServer:
    name: str
    url: str
    secret: str | None = None
    collections: tuple[str, ...] = ()
    min_role: str = "user"
    timeout_seconds: float = 20.0
    max_output_chars: int = 20_000


def checked_tools(listed: Sequence[Any]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The tools whose input schema is a valid JSON schema (as dicts), and the others with why."""
    tools, refused = [], []
    for tool in list(listed)[:MAX_TOOLS]:
        schema = tool.input_schema
        try:
            if not isinstance(schema, dict) or schema.get("type", "object") != "object":
                raise jsonschema.SchemaError("the input schema is not an object schema")
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            refused.append({"tool": str(tool.name), "reason": f"its input schema is not a valid JSON schema: "
                                                              f"{exc.message}"})
            continue
        tools.append({"name": str(tool.name), "description": str(tool.description or "")[:1000], "schema": schema})
    return tools, refused


class McpServers:
    def __init__(self, *, db: Database, cipher: FieldCipher, hosts: Sequence[str],
                 audit: Auditor | None = None) -> None:
        self._db, self._cipher, self._hosts, self._audit = db, cipher, [h.lower() for h in hosts], audit

    def _check_url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationFailed(f"an MCP server is reached over http(s) (Streamable HTTP), not {url!r}")
        if parts.hostname.lower() not in self._hosts:
            raise ValidationFailed(f"MCP servers may not be reached at {parts.hostname} (allowed hosts: "
                                   f"{', '.join(self._hosts) or 'none'}); ask the operator to add it to "
                                   "SUTAZAI_MCP_HOSTS")
        return url

    async def register(self, new: NewServer, *, by: Principal, credential: str | None = None) -> McpServerRow:
        """List the server's tools (refusing those whose schema does not validate) and keep it."""
        if not by.administers(None):
            raise Forbidden("only a platform admin registers MCP servers (their tools may read any collection "
                            "the planner is asked about)")
        if not _NAME.match(new.name):
            raise ValidationFailed("a server's name is 1 to 63 lower-case letters, digits, '-' or '_'")
        if new.min_role not in {r.value for r in Role}:
            raise ValidationFailed(f"min_role is one of {', '.join(r.value for r in Role)}")
        collections = [check_collection_name(c) for c in new.collections]
        url = self._check_url(new.url)
        listed = await self._list(url, new.secret, new.timeout_seconds)
        tools, refused = checked_tools(listed)
        if self._audit is not None:  # recorded before it happens: no record, no registration
            await self._audit.record(credential=credential, action="mcp_server.register", target=new.name,
                                     detail={"url": url, "collections": collections,
                                             "tools": [t["name"] for t in tools]})
        sealed = await self._cipher.seal(new.secret) if new.secret else None
        try:
            async with self._db.connection() as conn:
                return await store.insert(conn=conn, name=new.name, url=url, secret=sealed, collections=collections,
                                          min_role=new.min_role, timeout_seconds=new.timeout_seconds,
                                          max_output_chars=new.max_output_chars, tools=tools, refused=refused,
                                          created_by=by.subject)
        except UniqueViolation as exc:
            raise Conflict(f"an MCP server named {new.name!r} is registered already") from exc

    async def refresh(self, name: str, *, by: Principal) -> McpServerRow:
        row = await self._admin_get(name, by)
        listed = await self._list(row.url, await self._cipher.open(row.secret), row.timeout_seconds)
        tools, refused = checked_tools(listed)
        async with self._db.connection() as conn:
            await store.set_tools(conn=conn, name=name, tools=tools, refused=refused)
        return await self._admin_get(name, by)

    async def servers(self, *, by: Principal) -> list[McpServerRow]:
        async with self._db.connection() as conn:
            rows = await store.all_servers(conn=conn)
        return rows if by.administers(None) else [r for r in rows if self._usable(r, by, None)]

    async def remove(self, name: str, *, by: Principal, credential: str | None = None) -> None:
        await self._admin_get(name, by)
        if self._audit is not None:
            await self._audit.record(credential=credential, action="mcp_server.remove", target=name)
        async with self._db.connection() as conn:
            await store.delete(conn=conn, name=name)

    async def _admin_get(self, name: str, by: Principal) -> McpServerRow:
        if not by.administers(None):
            raise Forbidden("only a platform admin manages MCP servers")
        async with self._db.connection() as conn:
            row = await store.get(conn=conn, name=name)
        if row is None:
            raise NotFound(f"no MCP server {name!r}")
        return row

    @staticmethod
    def _usable(row: McpServerRow, by: Principal, collection: str | None) -> bool:
        names = [collection] if collection else list(row.collections) or None
        if row.collections and collection is not None and collection not in row.collections:
            return False
        return by.holds(Role(row.min_role), names) if names else any(
            rank(r) >= rank(Role(row.min_role)) for r in by.roles.values())

    async def usable(self, *, by: Principal, collection: str) -> tuple[ExternalTool, ...]:
        """The tools a request of `by` on `collection` may call."""
        async with self._db.connection() as conn:
            rows = await store.all_servers(conn=conn)
        return tuple(ExternalTool(server=r.name, name=t["name"], description=t["description"], schema=t["schema"])
                     for r in rows if self._usable(r, by, collection) for t in r.tools)

    async def call(self, ref: str, arguments: dict[str, Any], *, collection: str | None) -> tuple[str, McpServerRow]:
        """The text the tool returned; McpCallFailed with the reason otherwise."""
        server_name, _, tool_name = ref.partition("/")
        async with self._db.connection() as conn:
            row = await store.get(conn=conn, name=server_name)
        if row is None:
            raise McpCallFailed(f"no MCP server {server_name!r} is registered")
        if row.collections and collection not in row.collections:
            raise McpCallFailed(f"the MCP server {server_name!r} may not be used on collection {collection!r}")
        tool = next((t for t in row.tools if t["name"] == tool_name), None)
        if tool is None:
            raise McpCallFailed(f"the MCP server {server_name!r} offers no tool {tool_name!r}")
        try:
            jsonschema.validate(arguments, tool["schema"])
        except jsonschema.ValidationError as exc:
            raise McpCallFailed(f"the arguments do not fit {ref}'s input schema: {exc.message}") from exc
        secret = await self._cipher.open(row.secret)
        try:
            async with asyncio.timeout(row.timeout_seconds):
                text = await _call(row.url, secret, tool_name, arguments, row.timeout_seconds)
        except TimeoutError as exc:
            raise McpCallFailed(f"{ref} did not answer within {row.timeout_seconds:g} s (the server's timeout)") \
                from exc
        if len(text) > row.max_output_chars:
            raise McpCallFailed(f"{ref} returned {len(text):,} characters; the limit is {row.max_output_chars:,} "
                                "(the server's max_output_chars)")
        return text, row

    async def _list(self, url: str, secret: str | None, timeout: float) -> list[Any]:
        try:
            async with asyncio.timeout(timeout):
                return await _list_tools(url, secret, timeout)
        except TimeoutError as exc:
            raise DependencyUnavailable(f"the MCP server at {url} did not list its tools within {timeout:g} s") \
                from exc
        except McpCallFailed as exc:
            raise DependencyUnavailable(f"the MCP server at {url} could not be listed: {exc}") from exc


@asynccontextmanager
async def _session(url: str, secret: str | None, timeout: float) -> AsyncIterator[Any]:
    """The SDK's client over Streamable HTTP, the server's credential as its bearer."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(timeout), trust_env=False) as http, \
            Client(streamable_http_client(url, http_client=http)) as client:
        yield client


async def _list_tools(url: str, secret: str | None, timeout: float) -> list[Any]:
    try:
        async with _session(url, secret, timeout) as client:
            return list((await client.list_tools()).tools)
    except Exception as exc:  # noqa: BLE001 - whatever the transport or server did: one reason
        raise McpCallFailed(_reason(exc)) from exc


async def _call(url: str, secret: str | None, tool: str, arguments: dict[str, Any], timeout: float) -> str:
    try:
        async with _session(url, secret, timeout) as client:
            result = await client.call_tool(tool, arguments, read_timeout_seconds=timeout)
    except Exception as exc:  # noqa: BLE001 - a transport error, a refused call, output that breaks its schema
        raise McpCallFailed(f"the call failed: {_reason(exc)}") from exc
    text = "\n".join(str(getattr(part, "text", "")) for part in result.content if getattr(part, "type", "") == "text")
    if result.is_error:
        raise McpCallFailed(f"the tool reported an error: {text[:500] or '(no message)'}")
    if not text.strip():
        raise McpCallFailed("the tool returned no text")
    return text


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _reason(exc.exceptions[0])
    return f"{type(exc).__name__}: {exc}"[:500]
