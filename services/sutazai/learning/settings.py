"""Learning service settings."""

from functools import lru_cache

from pydantic import Field

from sutazai.lib.settings import CommonSettings


class LearningSettings(CommonSettings):
    service_name: str = "learning"
    reasoning_url: str = Field(default="http://127.0.0.1:8080",
                               description="where the reasoning service answers (to check a trace's access)")


@lru_cache
def get_settings() -> LearningSettings:
    return LearningSettings()
