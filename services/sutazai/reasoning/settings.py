"""Reasoning service settings."""

from functools import lru_cache
from typing import Literal

from pydantic import Field

from sutazai.lib.settings import ModelSettings


class ReasoningSettings(ModelSettings):
    service_name: str = "reasoning"
    knowledge_url: str = Field(default="http://127.0.0.1:8080",
                               description="base URL of the knowledge service (HAProxy in Compose)")
    learning_url: str = Field(default="http://127.0.0.1:8080",
                              description="base URL of the learning service (procedural memory)")
    metacognition_url: str = Field(default="http://127.0.0.1:8080",
                                   description="base URL of the metacognition service (calibrated confidence)")
    calibrated_confidence: bool = Field(default=True, description=(
        "ask the metacognition service for every answer's calibrated probability of being right and abstain "
        "when it says so; off (or when it cannot be asked): the documented prior and abstain_below decide"))
    memory: bool = Field(default=True, description="recall approved answers to close questions and demote passages "
                                                   "marked wrong for them (from the learning service)")
    memory_min_similarity: float = Field(default=0.9, ge=0.0, le=1.0, description=(
        "how close (cosine of question embeddings) a remembered question must be, besides naming the same "
        "numbers and names, to be put to the judge"))
    memory_judge: Literal["auto", "on", "off"] = Field(default="auto", description=(
        "ask the model routed for 'verify' whether a close remembered question asks the same as the one asked: "
        "auto (when its manifest entry suits verifying), on or off"))
    memory_unjudged_similarity: float = Field(default=0.97, ge=0.0, le=1.0, description=(
        "without a judge, how close a remembered question must be for its approved answer to be used"))
    memory_exemplars: int = Field(default=3, ge=1, le=10, description="approved answers offered per question")
    memory_demonstrations: int = Field(default=3, ge=0, le=8, description=(
        "worked solutions of similar questions (a teacher's exemplars) shown to the arithmetic writer"))
    memory_demonstration_similarity: float = Field(default=0.8, ge=0.0, le=1.0, description=(
        "how close a similar question must be for its worked solution to be shown"))
    max_question_chars: int = Field(default=4000, ge=1, le=100_000)
    samples: int = Field(default=3, ge=1, le=16, description="self-consistency samples per question")
    adaptive_samples: int = Field(default=5, ge=1, le=16, description=(
        "the most program samples a computed question may draw while the earlier ones disagree (adaptive "
        "self-consistency: one more runs only until an answer leads the next by 2 votes); applies when at "
        "least 3 samples are asked for"))
    sample_temperature: float = Field(default=0.7, ge=0.0, le=2.0,
                                      description="temperature of every sample after the first")
    abstain_below: float = Field(default=0.5, ge=0.0, le=1.0,
                                 description="abstain when the confidence is below this")
    default_max_steps: int = Field(default=24, ge=1, le=1000)
    default_max_tokens: int = Field(default=12_000, ge=1, le=10_000_000)
    default_max_seconds: float = Field(default=120.0, gt=0, le=3600)
    policy_max_steps: int = Field(default=64, ge=1, le=1000, description="no request may plan more steps")
    policy_max_tokens: int = Field(default=50_000, ge=1, le=10_000_000)
    policy_max_seconds: float = Field(default=600.0, gt=0, le=3600)
    max_tokens_cap: int = Field(default=1024, ge=1, le=32768,
                                description="policy cap on tokens one direct model call may ask for")
    model_routes: dict[str, str] = Field(default_factory=dict,
                                         description='model per step kind, e.g. {"synthesize": "qwen2.5:7b"}')
    extra_models: list[str] = Field(default_factory=list,
                                    description="more chat models on the Ollama host that routes may name")
    model_planning: Literal["auto", "on", "off"] = Field(
        default="auto", description="ask the model routed for 'plan' to plan a multi-part question no rule fits: "
                                    "auto (when its manifest entry suits planning), on or off")
    model_verification: Literal["auto", "on", "off"] = Field(
        default="off", description="put a claim the words of the sources cannot back to the model routed for "
                                    "'verify': auto (when its manifest entry suits verifying), on or off")
    mcp_hosts: str = Field(default="", description="hosts (comma-separated) of the internal MCP servers an admin "
                           "may register for the planner; none by default")
    model_failure_threshold: int = Field(default=3, ge=1, le=100)
    model_reset_seconds: int = Field(default=30, ge=1, le=3600)
    system_prompt: str = (
        "You are SutazAI, a careful assistant. Answer the question directly and briefly. "
        "If you do not know, say so."
    )


@lru_cache
def get_settings() -> ReasoningSettings:
    return ReasoningSettings()
