"""One list of settings: the services' settings classes. `sutazai up` passes every one but those
the stack sets itself; docs/settings.md is generated from the same classes and must be current;
every setting the README names exists."""

from __future__ import annotations

import re
from pathlib import Path

from sutazai.runtime.settings_doc import _services, render
from sutazai.runtime.stack import STACK_OWNED, passed_through

ROOT = Path(__file__).resolve().parents[2]
CLI_VARIABLES = {"SUTAZAI_URL", "SUTAZAI_API_KEY", "SUTAZAI_MODEL", "SUTAZAI_MODELS_DIR", "SUTAZAI_DATA_DIR",
                 "SUTAZAI_POSTGRES_PORT", "SUTAZAI_REDIS_PORT", "SUTAZAI_HOST", "SUTAZAI_PORT"}
"""read by the CLI and `sutazai up` themselves, not by a service"""


def fields() -> set[str]:
    return {f"SUTAZAI_{name.upper()}" for _, settings in _services() for name in settings.model_fields}


def test_every_service_setting_is_passed_by_sutazai_up_or_set_by_the_stack_for_a_stated_reason() -> None:
    passed = set(passed_through())
    assert passed | set(STACK_OWNED) >= fields()
    assert not passed & set(STACK_OWNED)
    for named in ("SUTAZAI_POLICY_MAX_STEPS", "SUTAZAI_MONITOR_WINDOW", "SUTAZAI_ALERT_ABSTENTION_RATE",
                  "SUTAZAI_SAMPLES", "SUTAZAI_ABSTAIN_BELOW", "SUTAZAI_GRAPH_EXTRACTION"):
        assert named in passed  # documented settings that `make up` used to drop
    assert all(reason for reason in STACK_OWNED.values())


def test_docs_settings_is_generated_from_the_settings_classes_and_current() -> None:
    current = (ROOT / "docs" / "settings.md").read_text()
    assert current == render(), "docs/settings.md is stale: python -m sutazai.runtime.settings_doc > docs/settings.md"
    for var in fields():
        assert f"| `{var}` |" in current
    assert "|  |" not in current  # every setting says what it does


def test_every_setting_the_readme_names_exists() -> None:
    named = set(re.findall(r"`(SUTAZAI_[A-Z0-9_]+)`", (ROOT / "README.md").read_text()))
    source = "\n".join(p.read_text() for p in (ROOT / "services" / "sutazai").rglob("*.py"))
    read_directly = {v for v in named if f'"{v}"' in source}  # os.environ / typer envvar (TLS files, ...)
    compose = "\n".join(p.read_text() for p in [ROOT / "docker-compose.yml", *(ROOT / "compose").glob("*.yml")])
    read_by_compose = set(re.findall(r"\$\{(SUTAZAI_[A-Z0-9_]+)", compose))  # interpolated by docker compose
    unknown = named - fields() - CLI_VARIABLES - set(STACK_OWNED) - read_directly - read_by_compose
    unknown = {v for v in unknown if not v.startswith("SUTAZAI_TEST_")}  # the contract tests' real servers
    assert not unknown, f"the README names settings nothing reads: {sorted(unknown)}"
