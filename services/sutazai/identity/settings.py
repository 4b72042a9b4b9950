"""Identity service settings."""

from functools import lru_cache

from sutazai.lib.settings import CommonSettings


class IdentitySettings(CommonSettings):
    service_name: str = "identity"


@lru_cache
def get_settings() -> IdentitySettings:
    return IdentitySettings()
