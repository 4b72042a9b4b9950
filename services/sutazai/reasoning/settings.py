"""Reasoning service settings."""

from functools import lru_cache

from pydantic import Field

from sutazai.lib.settings import ModelSettings


class ReasoningSettings(ModelSettings):
    service_name: str = "reasoning"
    max_question_chars: int = Field(default=4000, ge=1, le=100_000)
    answer_max_tokens: int = Field(default=256, ge=1, le=4096)
    system_prompt: str = (
        "You are SutazAI, a careful assistant. Answer the question directly and briefly. "
        "If you do not know, say so."
    )


@lru_cache
def get_settings() -> ReasoningSettings:
    return ReasoningSettings()
