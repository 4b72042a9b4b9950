"""Web UI settings. The web service holds no secret: sign-in is delegated to identity."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from sutazai.lib.settings import Environment


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUTAZAI_", env_file=None, extra="ignore")

    service_name: str = "web"
    environment: Environment = Environment.development
    log_level: str = "INFO"
    identity_url: str = "http://127.0.0.1:8080"
    otlp_endpoint: str | None = None
    secure_cookies: bool | None = None
    """Mark the session cookie Secure: None decides per request (HTTPS, or X-Forwarded-Proto)."""


@lru_cache
def get_settings() -> WebSettings:
    return WebSettings()
