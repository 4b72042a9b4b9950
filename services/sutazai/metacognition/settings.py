"""Metacognition service settings."""

from functools import lru_cache

from sutazai.lib.settings import CommonSettings


class MetacognitionSettings(CommonSettings):
    service_name: str = "metacognition"


@lru_cache
def get_settings() -> MetacognitionSettings:
    return MetacognitionSettings()
