"""Knowledge service settings."""

from functools import lru_cache

from sutazai.lib.settings import CommonSettings


class KnowledgeSettings(CommonSettings):
    service_name: str = "knowledge"


@lru_cache
def get_settings() -> KnowledgeSettings:
    return KnowledgeSettings()
