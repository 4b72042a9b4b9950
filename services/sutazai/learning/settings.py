"""Learning service settings."""

from functools import lru_cache

from sutazai.lib.settings import CommonSettings


class LearningSettings(CommonSettings):
    service_name: str = "learning"


@lru_cache
def get_settings() -> LearningSettings:
    return LearningSettings()
