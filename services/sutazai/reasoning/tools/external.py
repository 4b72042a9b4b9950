"""`mcp_call`: a tool of a registered internal MCP server, run as a step of a plan. The arguments
the planner could read from the question come filled in; any other required argument is written
by the model under the tool's input schema (a grammar on llama.cpp). The tool's text comes back
as a passage (source `mcp:<server>/<tool>`), so the answer cites it and verification checks the
answer's claims against it. Every call is recorded in the audit log as the asker; any failure
(a hang, an error, too much output, arguments the schema refuses) is a ToolFailed: an error step
in the trace, never a 500."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, Field

from sutazai.lib.errors import SutazaiError
from sutazai.lib.models import ChatMessage
from sutazai.reasoning.tools.base import ToolContext, ToolFailed, expect
from sutazai.reasoning.tools.knowledge import Passage, SearchOutput
from sutazai.reasoning.tools.modeltools import Router, chat_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExternalTool:
    """A tool of a registered MCP server that a request may use."""

    server: str
    name: str
    description: str
    schema: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.server}/{self.name}"


class Caller(Protocol):
    async def call(self, ref: str, arguments: dict[str, Any], *, collection: str | None) -> tuple[str, Any]: ...


class Auditor(Protocol):
    async def record(self, *, credential: str | None, action: str, target: str | None = None,
                     detail: dict[str, Any] | None = None, collections: list[str] | None = None) -> None: ...


class McpCallInput(BaseModel):
    tool: str = Field(min_length=3, max_length=200, description="server/tool")
    question: str = Field(max_length=8000)
    arguments: dict[str, Any] = Field(default_factory=dict, description="the arguments read from the question")
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema", description="the tool's input schema")


class McpCallOutput(SearchOutput):
    """The tool's text as a passage (read by the answer-writing steps like a search's passages)."""

    tool: str
    arguments: dict[str, Any]


class McpCall:
    name: ClassVar[str] = "mcp_call"
    kind: ClassVar[str] = "retrieve"
    description: ClassVar[str] = "call a tool of a registered internal MCP server"
    input_model: ClassVar[type[BaseModel]] = McpCallInput
    output_model: ClassVar[type[BaseModel]] = McpCallOutput

    def __init__(self, servers: Caller, route: Router, audit: Auditor | None) -> None:
        self._servers, self._route, self._audit = servers, route, audit

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        from sutazai.reasoning.mcp_client import McpCallFailed

        data = expect(data, McpCallInput)
        arguments = dict(data.arguments)
        missing = [k for k in data.schema_.get("required", []) if k not in arguments]
        if missing:
            arguments = await self._fill(data, arguments, ctx)
        if self._audit is not None:
            try:
                await self._audit.record(credential=ctx.credential, action="mcp.call", target=data.tool,
                                         detail={"arguments": arguments},
                                         collections=[ctx.collection] if ctx.collection else [])
            except SutazaiError as exc:  # no record, no call
                raise ToolFailed(f"the call to {data.tool} could not be recorded in the audit log: {exc.detail}") \
                    from exc
        try:
            text, _ = await self._servers.call(data.tool, arguments, collection=ctx.collection)
        except McpCallFailed as exc:
            reason = str(exc)
            raise ToolFailed(reason if data.tool in reason else f"{data.tool}: {reason}") from exc
        digest = hashlib.sha256(f"{data.tool}{json.dumps(arguments, sort_keys=True)}{text}".encode()).hexdigest()
        passage = Passage(chunk_id=f"mcp-{digest[:32]}", document_id=f"mcp:{data.tool}", source=f"mcp:{data.tool}",
                          text=text, score=1.0, heading=f"{data.tool} {json.dumps(arguments, sort_keys=True)}")
        return McpCallOutput(passages=[passage], tool=data.tool, arguments=arguments)

    async def _fill(self, data: McpCallInput, known: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        """The model writes the arguments under the tool's schema, keeping those read already."""
        messages = [
            ChatMessage("system", "Write the arguments of the tool call that answers the question, as JSON that "
                                  "fits the tool's input schema. Use only values the question states."),
            ChatMessage("user", f"Tool: {data.tool}\nQuestion: {data.question}\nKnown arguments: {json.dumps(known)}"),
        ]
        written = await chat_json(self._route("extract"), ctx, messages, data.schema_, temperature=0.0, seed=0,
                                  max_tokens=256)
        if not isinstance(written, dict):
            raise ToolFailed(f"the model wrote no arguments for {data.tool}")
        return {**written, **known}
