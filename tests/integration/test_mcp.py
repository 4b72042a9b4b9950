"""SutazAI as an MCP server, driven by the official `mcp` Python SDK's client over Streamable
HTTP on the real platform (the test model, the embedded backends): list the tools, call each, a
collection-scoped key refused outside its collections, bad arguments a tool error (not a crash),
and no credential or a wrong one refused at the door with the HTTP API's 401."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.integration.conftest import Platform, create_key
from tests.integration.knowledge_helpers import auth, ingest_text


@asynccontextmanager
async def client(platform: Platform, key: str) -> AsyncIterator[Client]:
    """The SDK's client over Streamable HTTP, the key as its bearer (the HTTP client is ours to close)."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=httpx2.Timeout(300.0)) as http, \
            Client(streamable_http_client(f"{platform.url}/mcp", http_client=http)) as mcp:
        yield mcp


async def call(platform: Platform, key: str, tool: str, arguments: dict[str, Any]) -> Any:
    async with client(platform, key) as mcp:
        return await mcp.call_tool(tool, arguments)


@pytest.fixture(scope="module")
def collections(platform: Platform) -> tuple[str, str]:
    ours, theirs = f"mcp-{uuid.uuid4().hex[:6]}", f"mcp-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as admin:
        ingest_text(admin, "The Bergen office has 140 staff. Kari Nordmann leads the Bergen office.",
                    source="offices.txt", collection=ours)
        ingest_text(admin, "The Oslo office has 310 staff.", source="oslo.txt", collection=theirs, graph=False)
    return ours, theirs


def test_the_tools_are_listed_with_their_schemas(platform: Platform) -> None:
    async def listed() -> dict[str, Any]:
        async with client(platform, platform.admin_key) as mcp:
            return {t.name: t for t in (await mcp.list_tools()).tools}

    tools = asyncio.run(listed())
    assert set(tools) == {"ask", "search", "document", "graph_neighbourhood"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert "collection" in tools["search"].input_schema["properties"]


def test_each_tool_answers_as_the_http_api_does(platform: Platform, collections: tuple[str, str]) -> None:
    ours, _ = collections
    key = asyncio.run(create_key(platform.backends, "user", [ours]))
    found = asyncio.run(call(platform, key, "search", {"query": "Bergen staff", "collection": ours}))
    assert not found.is_error, found
    hits = found.structured_content["hits"]
    assert hits and hits[0]["source"] == "offices.txt" and "140" in hits[0]["text"]

    record = asyncio.run(call(platform, key, "document", {"document_id": hits[0]["document_id"]}))
    assert not record.is_error and record.structured_content["source"] == "offices.txt"

    asked = asyncio.run(call(platform, key, "ask", {"question": "What is 12 times 7?"}))
    assert not asked.is_error, asked
    answer = asked.structured_content
    assert answer["answer"].startswith("84") and answer["grounding"] == "computed" and answer["confidence"] > 0.5
    with httpx.Client(base_url=platform.url, headers=auth(key), timeout=60) as http:  # the same trace over HTTP
        trace = http.get(f"/api/reasoning/v1/traces/{answer['trace_id']}")
    assert trace.status_code == 200 and trace.json()["question"] == "What is 12 times 7?"

    graph = asyncio.run(call(platform, key, "graph_neighbourhood", {"name": "Bergen", "collection": ours}))
    if graph.is_error:  # the test model may read no entity from the text: then the tool says so
        assert "no entity named like 'Bergen'" in graph.content[0].text
    else:
        assert graph.structured_content["entity"]["name"]


def test_a_scoped_key_is_refused_outside_its_collections(platform: Platform, collections: tuple[str, str]) -> None:
    ours, theirs = collections
    key = asyncio.run(create_key(platform.backends, "user", [ours]))
    for tool, arguments in (("search", {"query": "Oslo staff", "collection": theirs}),
                            ("ask", {"question": "How many staff does the Oslo office have?", "collection": theirs})):
        refused = asyncio.run(call(platform, key, tool, arguments))
        assert refused.is_error, (tool, refused)
        assert theirs in refused.content[0].text or "not allowed" in refused.content[0].text, refused.content


@pytest.mark.parametrize(("tool", "arguments"), [
    ("search", {"query": ""}),  # too short
    ("search", {"query": "x", "k": 10_000}),  # out of range
    ("ask", {}),  # the question is required
    ("document", {"document_id": "not-an-id"}),
    ("graph_neighbourhood", {"name": "x", "hops": 9}),
    ("no_such_tool", {}),
])
def test_bad_arguments_are_a_tool_error_not_a_crash(platform: Platform, tool: str, arguments: dict[str, Any]) -> None:
    result = asyncio.run(call(platform, platform.admin_key, tool, arguments))
    assert result.is_error and result.content[0].text, result


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk-not-a-key"}])
def test_no_credential_or_a_wrong_one_is_refused_at_the_door(platform: Platform, headers: dict[str, str]) -> None:
    response = httpx.post(f"{platform.url}/mcp", headers={**headers, "Accept": "application/json, text/event-stream"},
                          json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=30)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("body", [
    '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "search", "arguments": '
    '{"query": "a\\u0000b"}}}',  # a NUL byte in an argument
    '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "search", "arguments": '
    '{"query": "x", "k": 1' + "0" * 400 + '}}}',  # a huge number
    '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "search", "arguments": '
    + '{"a": ' * 500 + "1" + "}" * 500 + "}}",  # deep JSON
    "not json at all",
])
def test_bad_bodies_are_refused_or_a_tool_error_never_a_500(platform: Platform, body: str) -> None:
    headers = {**auth(platform.admin_key), "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}
    response = httpx.post(f"{platform.url}/mcp", content=body.encode(), timeout=60, headers=headers)
    assert response.status_code < 500, response.text
    if response.status_code == 200:  # answered in the protocol: an error, not a result
        answer = response.json()
        assert "error" in answer or answer["result"].get("isError") is True, answer


def test_a_non_admin_key_of_another_collection_reads_nothing_of_it(platform: Platform,
                                                                   collections: tuple[str, str]) -> None:
    ours, theirs = collections
    stranger = asyncio.run(create_key(platform.backends, "user", [theirs]))
    found = asyncio.run(call(platform, stranger, "search", {"query": "Bergen staff", "collection": ours}))
    assert found.is_error, found
