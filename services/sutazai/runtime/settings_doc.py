"""docs/settings.md, generated from the services' settings classes (`python -m
sutazai.runtime.settings_doc > docs/settings.md`); a test checks the file is current."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from sutazai.runtime.stack import STACK_OWNED


def _services() -> list[tuple[str, Any]]:
    from sutazai.identity.settings import IdentitySettings  # noqa: PLC0415
    from sutazai.knowledge.settings import KnowledgeSettings  # noqa: PLC0415
    from sutazai.learning.settings import LearningSettings  # noqa: PLC0415
    from sutazai.metacognition.settings import MetacognitionSettings  # noqa: PLC0415
    from sutazai.reasoning.settings import ReasoningSettings  # noqa: PLC0415
    from sutazai.web.settings import WebSettings  # noqa: PLC0415

    return [("identity", IdentitySettings), ("knowledge", KnowledgeSettings), ("reasoning", ReasoningSettings),
            ("learning", LearningSettings), ("metacognition", MetacognitionSettings), ("web", WebSettings)]


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "(computed)"
    value = field.default
    if hasattr(value, "get_secret_value"):
        return "(secret)" if value.get_secret_value() else "unset"
    if value is None:
        return "unset"
    if hasattr(value, "value"):  # an enum
        value = value.value
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


NOTES = {
    "SUTAZAI_CHAT_MODEL": "the chat model's name on Ollama (SUTAZAI_MODEL_BACKEND=ollama)",
    "SUTAZAI_EMBED_MODEL": "the embedding model's name on Ollama",
    "SUTAZAI_DATABASE_POOL_MAX": "PostgreSQL connections one service process keeps at most",
    "SUTAZAI_DEFAULT_MAX_STEPS": "steps a question may take when its options do not say",
    "SUTAZAI_DEFAULT_MAX_TOKENS": "model tokens a question may spend when its options do not say",
    "SUTAZAI_DEFAULT_MAX_SECONDS": "seconds a question may take when its options do not say",
    "SUTAZAI_POLICY_MAX_STEPS": "the most steps any question's options may ask for",
    "SUTAZAI_POLICY_MAX_TOKENS": "the most model tokens any question's options may ask for",
    "SUTAZAI_POLICY_MAX_SECONDS": "the most seconds any question's options may ask for",
    "SUTAZAI_ELASTICSEARCH_URL": "Elasticsearch (SUTAZAI_SEARCH_BACKEND=elasticsearch)",
    "SUTAZAI_ELASTICSEARCH_INDEX": "the Elasticsearch index of chunks",
    "SUTAZAI_ELASTICSEARCH_USERNAME": "the Elasticsearch user",
    "SUTAZAI_ELASTIC_PASSWORD": "the Elasticsearch password",
    "SUTAZAI_EMBED_BATCH": "passages embedded per batch while indexing",
    "SUTAZAI_IDENTITY_URL": "where the identity service answers (credential introspection, audit log)",
    "SUTAZAI_INTROSPECTION_CACHE_SECONDS": "how long a service trusts a credential's introspection (revocation "
                                           "reaches it within this)",
    "SUTAZAI_JWT_TTL_SECONDS": "lifetime of a bearer token",
    "SUTAZAI_LDAP_TIMEOUT_SECONDS": "seconds an LDAP bind or search may take",
    "SUTAZAI_LLAMACPP_CONTEXT": "llama.cpp context window in tokens (prompt and answer)",
    "SUTAZAI_LLAMACPP_THREADS": "CPU threads llama.cpp uses",
    "SUTAZAI_MAX_QUESTION_CHARS": "the longest question accepted",
    "SUTAZAI_MODEL_FAILURE_THRESHOLD": "consecutive model failures that open the model's circuit breaker",
    "SUTAZAI_MODEL_RESET_SECONDS": "seconds an open model breaker waits before trying again",
    "SUTAZAI_NEO4J_URL": "Neo4j (SUTAZAI_GRAPH_BACKEND=neo4j)",
    "SUTAZAI_NEO4J_USER": "the Neo4j user",
    "SUTAZAI_NEO4J_PASSWORD": "the Neo4j password",
    "SUTAZAI_OIDC_CLIENT_ID": "the OpenID Connect client id",
    "SUTAZAI_OIDC_CLIENT_SECRET": "the OpenID Connect client secret",
    "SUTAZAI_OLLAMA_TIMEOUT_SECONDS": "seconds one Ollama call may take",
    "SUTAZAI_REQUEUE_AFTER_SECONDS": "an ingestion job claimed but silent this long is run again",
    "SUTAZAI_SECURE_COOKIES": "mark the web UI's cookies Secure (default: on unless development)",
    "SUTAZAI_SERVICE_NAME": "the service a process runs",
    "SUTAZAI_STARTUP_TIMEOUT_SECONDS": "seconds a service waits for its backends at start",
    "SUTAZAI_SYSTEM_PROMPT": "the system prompt of answers written without sources",
    "SUTAZAI_TEXT_SEARCH_CONFIG": "PostgreSQL full-text search configuration (language)",
    "SUTAZAI_VAULT_ADDR": "Vault's address (Compose): secrets are read from it",
    "SUTAZAI_VAULT_MOUNT": "Vault's KV mount",
    "SUTAZAI_VAULT_ROLE_ID_FILE": "the AppRole role id file",
    "SUTAZAI_VAULT_SECRET_ID_FILE": "the AppRole secret id file",
    "SUTAZAI_WORKER_CLAIM_IDLE_MS": "a stream entry unacknowledged this long is taken over by another worker",
    "SUTAZAI_WORKER_MAX_ATTEMPTS": "attempts an ingestion job gets before it is marked failed",
}
"""What a setting does where its field does not say (settings of the shared base and backends)."""


def _readme_descriptions() -> dict[str, str]:
    """The README's settings table: what it says of a setting whose field has no description."""
    readme = Path(__file__).resolve().parents[3] / "README.md"
    found: dict[str, str] = {}
    for line in readme.read_text().splitlines() if readme.exists() else []:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`SUTAZAI_[A-Z0-9_]+`", cells[0]):
            found[cells[0].strip("`")] = cells[-1]
    return found


def render() -> str:
    readme = _readme_descriptions()
    rows: dict[str, dict[str, Any]] = {}
    for service, settings in _services():
        for name, field in settings.model_fields.items():
            var = f"SUTAZAI_{name.upper()}"
            said = ((field.description or "").replace("|", "\\|").replace("\n", " ")
                    or NOTES.get(var) or readme.get(var, ""))
            row = rows.setdefault(var, {"services": [], "default": _default(field), "description": said})
            row["services"].append(service)
    lines = ["# Settings", "",
             "Every setting of every service, generated from the settings classes "
             "(`python -m sutazai.runtime.settings_doc > docs/settings.md`; a test fails when this file is not "
             "current). Set them in the environment: Compose passes them per service; `sutazai up` / `make up` "
             "passes every one to the services except those it sets itself (the last column says why).", "",
             "| variable | default | services | what it does | under `sutazai up` |", "| --- | --- | --- | --- | --- |"]
    for var in sorted(rows):
        row = rows[var]
        owned = STACK_OWNED.get(var)
        lines.append(f"| `{var}` | `{row['default']}` | {', '.join(row['services'])} | {row['description']} | "
                     f"{'set by the stack: ' + owned if owned else 'passed through'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
