"""Reasoning service settings."""

from functools import lru_cache

from pydantic import Field

from sutazai.lib.settings import ModelSettings


class ReasoningSettings(ModelSettings):
    service_name: str = "reasoning"
    max_question_chars: int = Field(default=4000, ge=1, le=100_000)
    max_tokens_cap: int = Field(default=1024, ge=1, le=32768,
                                description="policy cap on tokens a request may ask for")
    system_prompt: str = (
        "You are SutazAI, a careful assistant. Answer the question directly and briefly. "
        "If you do not know, say so."
    )


@lru_cache
def get_settings() -> ReasoningSettings:
    return ReasoningSettings()
