import pytest
from pydantic import ValidationError

from sutazai.lib.settings import CommonSettings, ModelSettings, bundled_model_path


def test_production_refuses_a_placeholder_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUTAZAI_ENVIRONMENT", "production")
    monkeypatch.setenv("SUTAZAI_JWT_SECRET", "changeme")
    with pytest.raises(ValidationError, match="SUTAZAI_JWT_SECRET must be set"):
        CommonSettings()
    monkeypatch.setenv("SUTAZAI_JWT_SECRET", "x" * 40)
    assert CommonSettings().environment.value == "production"


def test_development_runs_without_a_secret() -> None:
    assert CommonSettings().jwt_secret.get_secret_value() == ""


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUTAZAI_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("SUTAZAI_MODEL_BACKEND", "ollama")
    settings = ModelSettings()
    assert settings.redis_url.get_secret_value() == "redis://127.0.0.1:1/0"
    assert settings.model_backend.value == "ollama"
    assert "redis://127.0.0.1:1/0" not in repr(settings)  # secrets are masked


def test_bad_values_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUTAZAI_MODEL_BACKEND", "gpt-cloud")
    with pytest.raises(ValidationError, match="model_backend"):
        ModelSettings()


def test_bundled_model_is_found_without_importing_its_package() -> None:
    path = bundled_model_path()
    assert path is not None and path.suffix == ".gguf" and path.stat().st_size > 50_000_000
