"""Real PostgreSQL and Redis (from the wheels) for the integration tier, one pair per session,
and the whole platform served on a loopback port."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sutazai.runtime.processes import free_port
from tests.conftest import Backends
from tests.servers import ServerThread


@dataclass
class Platform:
    url: str
    backends: Backends
    admin_key: str


CONNECTOR_ROOT = Path(tempfile.gettempdir()) / "sutazai-connector-tests"
"""The one folder the test platforms' connectors may read (SUTAZAI_CONNECTOR_ROOTS); 127.0.0.1 is
the one host they may reach."""
GRAPH_TEST_SETTINGS: dict[str, object] = {
    "graph_extractor": "model", "connector_roots": str(CONNECTOR_ROOT), "connector_hosts": "127.0.0.1",
    "connector_poll_seconds": 0.5, "connector_cache_dir": str(CONNECTOR_ROOT / ".git-mirrors")}
"""The graph tests read facts that SmolLM2 (the test model) states reliably when it lists
entities itself; the NER extractor (the default) has its own tests in test_ner_extraction.py."""


def build_platform_app(backends: Backends, port: int, *, knowledge_overrides: dict[str, object] | None = None,
                       redis_url: str | None = None, common_overrides: dict[str, object] | None = None,
                       identity_overrides: dict[str, object] | None = None,
                       learning_overrides: dict[str, object] | None = None,
                       metacognition_overrides: dict[str, object] | None = None,
                       **model_overrides: object):  # noqa: ANN201
    from sutazai.identity.app import PREFIXES as IDP
    from sutazai.identity.app import create_app as identity
    from sutazai.identity.settings import IdentitySettings
    from sutazai.knowledge.app import PREFIXES as KNP
    from sutazai.knowledge.app import create_app as knowledge
    from sutazai.knowledge.settings import KnowledgeSettings
    from sutazai.learning.app import PREFIXES as LEP
    from sutazai.learning.app import create_app as learning
    from sutazai.learning.settings import LearningSettings
    from sutazai.metacognition.app import PREFIXES as MEP
    from sutazai.metacognition.app import create_app as metacognition
    from sutazai.metacognition.settings import MetacognitionSettings
    from sutazai.reasoning.app import PREFIXES as REP
    from sutazai.reasoning.app import create_app as reasoning
    from sutazai.reasoning.settings import ReasoningSettings
    from sutazai.runtime.gateway import Gateway
    from sutazai.web.app import PREFIXES as WEP
    from sutazai.web.app import create_app as web
    from sutazai.web.settings import WebSettings

    common = backends.settings(identity_url=f"http://127.0.0.1:{port}", introspection_cache_seconds=0,
                               auth_failures_per_minute=0, key_requests_per_minute=0)  # see test_rate_limits.py
    common.update(common_overrides or {})
    knowledge_settings = GRAPH_TEST_SETTINGS | (knowledge_overrides or {})
    if redis_url:
        common["redis_url"] = redis_url
    return Gateway([
        ("identity", IDP, identity(IdentitySettings(**common, **(identity_overrides or {})))),
        ("reasoning", REP, reasoning(ReasoningSettings(**common, knowledge_url=f"http://127.0.0.1:{port}",
                                                       learning_url=f"http://127.0.0.1:{port}",
                                                       metacognition_url=f"http://127.0.0.1:{port}",
                                                       **({"mcp_hosts": "127.0.0.1"} | model_overrides)))),
        ("knowledge", KNP, knowledge(KnowledgeSettings(**common, **knowledge_settings))),
        ("learning", LEP, learning(LearningSettings(**common, reasoning_url=f"http://127.0.0.1:{port}",
                                                  knowledge_url=f"http://127.0.0.1:{port}",
                                                  metacognition_url=f"http://127.0.0.1:{port}",
                                                  **(learning_overrides or {})))),
        ("metacognition", MEP, metacognition(MetacognitionSettings(
            **common, learning_url=f"http://127.0.0.1:{port}", reasoning_url=f"http://127.0.0.1:{port}",
            knowledge_url=f"http://127.0.0.1:{port}",
            # the prior, as every test (a session-scoped app is built before the per-test environment):
            # the calibrators shipped with models have their own tests
            **({"shipped_calibrators": False} | (metacognition_overrides or {}))))),
        ("web", WEP, web(WebSettings(identity_url=f"http://127.0.0.1:{port}"))),
    ], fallback="web")


async def create_key(backends: Backends, role: str = "admin", collections: list[str] | None = None) -> str:
    from sutazai.identity.bootstrap import create_key as create_identity_key
    from sutazai.lib.access import Role

    issued = await create_identity_key(backends.postgres.dsn(), role=Role(role), name="test",
                                       collections=collections or [], actor="test")
    return issued.plaintext


@contextlib.contextmanager
def calibrators_removed_after(platform: Platform) -> Iterator[None]:
    """The calibrators fitted inside the block are removed at its end: the newest calibrator is the
    one in use, and the tests after it expect the documented prior's confidences."""
    import psycopg

    with psycopg.connect(platform.backends.postgres.dsn()) as conn:
        newest = conn.execute("SELECT coalesce(max(version), 0) FROM metacognition.calibrators").fetchone()[0]
    yield
    with psycopg.connect(platform.backends.postgres.dsn()) as conn:
        conn.execute("DELETE FROM metacognition.calibrators WHERE version > %s", (newest,))


@pytest.fixture
def prior_in_use(platform: Platform) -> Platform:
    """No calibrator fitted on the session's labels: answers are assessed with the documented prior
    (a test that asserts the prior's figures sets this state itself)."""
    import psycopg

    with psycopg.connect(platform.backends.postgres.dsn()) as conn:
        conn.execute("DELETE FROM metacognition.calibrators")
    return platform


@pytest.fixture(scope="session")
def platform(backends: Backends) -> Iterator[Platform]:
    import asyncio

    port = free_port()
    with ServerThread(build_platform_app(backends, port), port=port) as server:
        key = asyncio.run(create_key(backends, "admin"))
        yield Platform(server.url, backends, key)


def fresh_database(backends: Backends, prefix: str, *, extensions: tuple[str, ...] = ()) -> str:
    """The DSN of a new, empty database on the shared server (created by the server's superuser
    over its own socket, with `extensions`: 'vector' for the knowledge service), for tests that
    need a table to themselves."""
    import uuid

    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    pg = backends.postgres
    with psycopg.connect(host=str(pg.socket_dir), port=pg.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER sutazai")
    if extensions:
        with psycopg.connect(host=str(pg.socket_dir), port=pg.port, user="postgres", dbname=name,
                             autocommit=True) as conn:
            for extension in extensions:
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension} WITH SCHEMA public")
    return pg.dsn().rsplit("/", 1)[0] + f"/{name}"
