"""SutazAI as an MCP client: an internal MCP server (the official SDK's server, started here on
127.0.0.1 behind a bearer check) registered by an admin; the planner calls its tool as a step
when a question asks for it, the call is in the trace and the audit log, and a server that hangs,
returns too much or declares a schema that is not one is a recorded error, never a 500."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.integration.conftest import Platform, create_key
from tests.integration.knowledge_helpers import auth
from tests.servers import ServerThread

SERVERS = "/api/reasoning/v1/mcp-servers"
TOKEN = "internal-tool-token"
ONE_SAMPLE = {"samples": 1, "budget": {"max_seconds": 500}}
"""One sample each, with room for a slow shared machine (the tool's own timeouts are what is tested)."""


class Bearer:
    """Refuses a request without the server's token (as an internal service would)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != f"Bearer {TOKEN}".encode():
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"no token"})
            return
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def tool_server() -> Iterator[str]:
    server = MCPServer("Tickets")

    @server.tool()
    def ticket_status(ticket: Annotated[str, Field(pattern=r"^TCK-\d+$")]) -> str:
        """The status of a support ticket."""
        known = {"TCK-1042": "Ticket TCK-1042 is closed: the VPN outage was fixed in release 4.2 by Dana Roy."}
        return known.get(ticket, f"No ticket {ticket}.")

    @server.tool()
    async def slow_report() -> str:
        """A report that never finishes."""
        await asyncio.sleep(120)
        return "late"

    @server.tool()
    def huge_dump() -> str:
        """Everything at once."""
        return "x" * 300_000

    @server.tool()
    def broken(x: str) -> str:
        """A tool whose declared input schema is not a JSON schema."""
        return x

    server._tool_manager.get_tool("broken").parameters = {"type": "object", "properties": {"x": {"type": "nonsense"}}}
    app = server.streamable_http_app(streamable_http_path="/mcp", json_response=True, stateless_http=True,
                                     transport_security=TransportSecuritySettings(
                                         enable_dns_rebinding_protection=False))
    with ServerThread(Bearer(app)) as running:
        yield f"{running.url}/mcp"


def register(client: httpx.Client, url: str, **fields: Any) -> httpx.Response:
    return client.post(SERVERS, json={"name": f"t{uuid.uuid4().hex[:8]}", "url": url, "secret": TOKEN, **fields})


def trace_of(client: httpx.Client, trace_id: str) -> dict[str, Any]:
    response = client.get(f"/api/reasoning/v1/traces/{trace_id}")
    assert response.status_code == 200, response.text
    return response.json()


def steps_of(client: httpx.Client, response: httpx.Response) -> list[tuple[Any, ...]]:
    """What each step of the response's trace did (for a failure message)."""
    trace_id = response.json().get("trace_id")
    if not trace_id:
        return []
    return [(s["tool"], s["status"], s.get("error"), s.get("latency_ms"), s.get("started_at"))
            for s in trace_of(client, trace_id)["steps"]]


def tool_step(trace: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in trace["steps"] if s["tool"] == "mcp_call")


def test_a_registered_tool_is_called_as_a_step_and_its_failures_are_recorded(platform: Platform,
                                                                           tool_server: str) -> None:
    col = f"tools-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as client:
        created = register(client, tool_server, collections=[col])
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["has_secret"] and TOKEN not in created.text
        assert {t["name"] for t in body["tools"]} == {"ticket_status", "slow_report", "huge_dump"}
        (refused,) = body["refused"]
        assert refused["tool"] == "broken" and "not a valid JSON schema" in refused["reason"]
        server = body["name"]

        asked = client.post("/api/reasoning/v1/ask", json={
            "question": "Use the ticket status tool: what is the status of TCK-1042?", "collection": col,
            "options": ONE_SAMPLE})
        assert asked.status_code == 200, asked.text
        trace = trace_of(client, asked.json()["trace_id"])
        assert trace["plan"]["strategy"] == "tool"
        step = tool_step(trace)
        assert step["status"] == "ok", step
        assert step["input"]["arguments"] == {"ticket": "TCK-1042"}  # read from the question
        assert "closed" in step["output"]["passages"][0]["text"]
        assert step["output"]["passages"][0]["source"] == f"mcp:{server}/ticket_status"
        entries = client.get("/api/identity/v1/audit", params={"limit": 50}).json()
        assert any(e["action"] == "mcp.call" and e["target"] == f"{server}/ticket_status" for e in entries)

        # a hang and too much output: each an error step with the reason; the request answers
        slow = register(client, tool_server, collections=[col], timeout_seconds=2, max_output_chars=1000)
        assert slow.status_code == 201, slow.text
        limited = slow.json()["name"]  # its tools are named by the server's name: that server's limits apply
        for question, says in ((f"Run {limited}/slow_report now.", "did not answer within 2 s"),
                               (f"Give me the {limited}/huge_dump.",
                                "returned 300,000 characters; the limit is 1,000")):
            started = time.monotonic()
            asked = client.post("/api/reasoning/v1/ask", json={"question": question, "collection": col,
                                                                "options": ONE_SAMPLE})
            assert asked.status_code == 200, asked.text
            answer = asked.json()
            assert answer["abstained"], answer
            step = tool_step(trace_of(client, answer["trace_id"]))
            assert step["status"] == "error" and says in step["error"], step["error"]
            assert time.monotonic() - started < 100  # the hang was cut, not waited out
        assert client.delete(f"{SERVERS}/{slow.json()['name']}").status_code == 204


def test_who_may_register_and_use_a_tool_server(platform: Platform, tool_server: str) -> None:
    col = f"tools-{uuid.uuid4().hex[:6]}"
    user = asyncio.run(create_key(platform.backends, "user", [col]))
    outsider = asyncio.run(create_key(platform.backends, "admin", [f"{col}-other"]))
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        for key in (user, outsider):  # registering is the platform admin's, not a collection admin's
            with httpx.Client(base_url=platform.url, headers=auth(key), timeout=60) as c:
                response = register(c, tool_server)
                assert response.status_code == 403, response.text
        refused = register(admin, "http://10.1.2.3/mcp")
        assert refused.status_code == 422 and "SUTAZAI_MCP_HOSTS" in refused.text
        assert register(admin, "ftp://127.0.0.1/mcp").status_code == 422
        assert register(admin, tool_server, min_role="owner").status_code == 422
        for bad in ({"url": tool_server + "\x00x"}, {"name": "a\x00b"}, {"timeout_seconds": 10**400},
                    {"max_output_chars": 10**400}, {"collections": ["bad name!"]}):
            response = admin.post(SERVERS, json={"name": f"t{uuid.uuid4().hex[:8]}", "url": tool_server,
                                                 "secret": TOKEN, **bad})
            assert 400 <= response.status_code < 500, (bad, response.text)
        deep: Any = {}
        for _ in range(500):
            deep = {"a": deep}
        response = admin.post(SERVERS, json={"name": "deep", "url": tool_server, "secret": deep})
        assert 400 <= response.status_code < 500, response.text
        wrong = admin.post(SERVERS, json={"name": f"t{uuid.uuid4().hex[:8]}", "url": tool_server, "secret": "nope"})
        assert wrong.status_code == 503 and "could not be listed" in wrong.json()["detail"]
        created = register(admin, tool_server, collections=[col])
        assert created.status_code == 201
        name = created.json()["name"]
        assert admin.post(SERVERS, json={"name": name, "url": tool_server, "secret": TOKEN}).status_code == 409
        # a user of the collection may use it; a key of another collection never reaches it
        with httpx.Client(base_url=platform.url, headers=auth(user), timeout=300) as c:
            asked = c.post("/api/reasoning/v1/ask", json={
                "question": "Use the ticket status tool for TCK-1042.", "collection": col, "options": ONE_SAMPLE})
            assert asked.status_code == 200, (asked.text, steps_of(c, asked))
            assert trace_of(c, asked.json()["trace_id"])["plan"]["strategy"] == "tool"
            assert any(s["name"] == name for s in c.get(SERVERS).json())
        with httpx.Client(base_url=platform.url, headers=auth(outsider), timeout=300) as c:
            asked = c.post("/api/reasoning/v1/ask", json={
                "question": "Use the ticket status tool for TCK-1042.", "collection": f"{col}-other",
                "options": ONE_SAMPLE})
            assert asked.status_code == 200, asked.text
            assert trace_of(c, asked.json()["trace_id"])["plan"]["strategy"] != "tool"
            assert all(s["name"] != name for s in c.get(SERVERS).json())
        assert admin.delete(f"{SERVERS}/{name}").status_code == 204
        assert admin.delete(f"{SERVERS}/{name}").status_code == 404
