"""The reasoning service's contract: its paths and the request/response models other services and
clients exchange with it (the service's routes use these models as theirs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sutazai.lib.access import CollectionName
from sutazai.lib.confidence import Grounding

PREFIX = "/api/reasoning/v1"
ASK = f"{PREFIX}/ask"
ASK_STREAM = f"{PREFIX}/ask/stream"
TRACES = f"{PREFIX}/traces"
ROUTES = f"{PREFIX}/routes"
RETRIEVAL = f"{PREFIX}/retrieval"
CHAT_COMPLETIONS = "/v1/chat/completions"
"""The OpenAI-compatible endpoint (the bare model, for baselines)."""

MAX_SEED = 2**31 - 1 - 16
"""Seeds reach the model backends as 32-bit integers; sample i runs with seed + i (i < 16)."""


def trace_path(trace_id: uuid.UUID | str) -> str:
    return f"{TRACES}/{trace_id}"


class Claim(BaseModel):
    text: str
    supported: bool
    chunk_ids: list[str] = Field(description="passages that support the claim")
    checked_by: str = Field(default="words", description="'words' (a passage holds its content words and "
                                                           "numbers) or the model that judged it supported")


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_steps: int | None = Field(default=None, ge=1, le=1000, description="capped by the service's policy")
    max_tokens: int | None = Field(default=None, ge=1, le=10_000_000)
    max_seconds: float | None = Field(default=None, gt=0, le=3600)


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="of the first sample")
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="fixed by default so answers are reproducible")
    samples: int | None = Field(default=None, ge=1, le=16, description="self-consistency samples")
    abstain_below: float | None = Field(default=None, ge=0.0, le=1.0,
                                        description="abstain when the confidence is lower")
    budget: BudgetIn = Field(default_factory=BudgetIn)
    routes: dict[str, str] | None = Field(default=None, max_length=8, description=(
        "model per step kind for this question only, e.g. {\"synthesize\": \"qwen2.5-coder-1.5b\"}; "
        "kinds and models as GET /api/reasoning/v1/routes lists them"))
    ensemble: list[str] | None = Field(default=None, min_length=2, max_length=5, description=(
        "vote across these models: the samples are spread over them, one after the other (at least as many "
        "samples as models)"))


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=100_000, description="what you want answered")
    collection: CollectionName | None = Field(default=None, description="the document collection to ground the "
                                              "answer in (default: your credential's first, or 'default')")
    options: Options = Field(default_factory=Options)


class Citation(BaseModel):
    document_id: str
    chunk_id: str
    text: str
    source: str | None = Field(default=None, description="the document's source name")


class AskResponse(BaseModel):
    answer: str = Field(description="numbered citations follow supported sentences; [unsupported] marks "
                                    "a claim no source backs")
    citations: list[Citation]
    confidence: float | None = Field(description="0-1: the calibrated probability that the answer is right, from "
                                    "the metacognition service (the documented prior when it cannot be asked)")
    abstained: bool
    reason: str | None
    trace_id: uuid.UUID
    model: str
    claims: list[Claim]
    budget: dict[str, Any]
    spent: dict[str, Any]
    assessment: dict[str, Any] | None = Field(default=None, description="how the confidence was reached: the "
                                              "answer's features, the probability, the calibrator's version "
                                              "(null: the prior) and the threshold applied")
    withheld: str | None = Field(default=None, description="when the answer was withheld for low confidence, the "
                                 "answer that was withheld")
    grounding: Grounding = Field(default="none", description="where the answer comes from: 'documents' (the cited "
                                 "passages), 'computed' (a tool, from the question's own values), 'model' (the "
                                 "model's general knowledge: the documents do not cover the question), 'none' "
                                 "(no answer)")


class Step(BaseModel):
    seq: int
    step_id: str | None
    kind: str
    tool: str
    purpose: str
    depends_on: list[str]
    status: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    model: str | None
    model_digest: str | None = Field(default=None, description="sha256 of the weights that served the step")
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    started_at: datetime


class Trace(BaseModel):
    id: uuid.UUID
    subject: str
    question: str
    collection: str | None
    options: dict[str, Any]
    status: str
    plan: dict[str, Any] | None
    answer: str | None
    confidence: float | None
    abstained: bool
    reason: str | None
    citations: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    spend: dict[str, Any]
    assessment: dict[str, Any] | None = None
    error: str | None
    request_id: str | None
    replay_of: uuid.UUID | None
    started_at: datetime
    finished_at: datetime | None
    steps: list[Step]


class Routes(BaseModel):
    routes: dict[str, str] = Field(description="model per step kind (plan, extract, synthesize, verify)")
    models: list[str] = Field(default_factory=list, description="models a route may name")


class FusionWeightsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keyword: float = Field(default=1.0, ge=0.0, le=3.0, description="weight of the keyword (BM25) ranking")
    vector: float = Field(default=1.0, ge=0.0, le=3.0, description="weight of the vector ranking")


class Retrieval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    depth: int = Field(ge=1, le=12, description="passages the question's own search returns (entity searches: "
                       "one less)")
    weights: FusionWeightsIn = Field(default_factory=FusionWeightsIn, description="reciprocal-rank fusion weights")


MCP_SERVERS = f"{PREFIX}/mcp-servers"


class McpServerIn(BaseModel):
    """An internal MCP server whose tools the planner may call (Streamable HTTP)."""

    name: str = Field(min_length=1, max_length=63, description="lower-case letters, digits, '-' or '_'")
    url: str = Field(min_length=8, max_length=2048, description="its Streamable HTTP endpoint, on a host in "
                                                                "SUTAZAI_MCP_HOSTS")
    secret: str | None = Field(default=None, min_length=1, max_length=4096, description="sent as the bearer; "
                               "sealed at rest and never shown again")
    collections: list[str] = Field(default_factory=list, max_length=100, description="the collections whose "
                                   "questions may use it (empty: every collection)")
    min_role: str = Field(default="user", description="the lowest role that may use it: user, service or admin")
    timeout_seconds: float = Field(default=20.0, gt=0, le=300, description="a call that takes longer fails")
    max_output_chars: int = Field(default=20_000, ge=100, le=1_000_000, description="a longer result fails")


class McpToolOut(BaseModel):
    name: str
    description: str
    input_schema: dict[str, object]


class McpServerOut(BaseModel):
    name: str
    url: str
    has_secret: bool
    collections: list[str]
    min_role: str
    timeout_seconds: float
    max_output_chars: int
    tools: list[McpToolOut]
    refused: list[dict[str, str]] = Field(description="tools left out, with why (an input schema that is not a "
                                                      "valid JSON schema)")
    listed_at: datetime | None
    created_by: str
