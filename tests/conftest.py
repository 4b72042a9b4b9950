"""Suite-wide rules: no connection may leave loopback, every test gets a clean environment,
and the tier marker follows the folder (tests/unit, tests/integration, tests/e2e, ...)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sutazai.runtime.postgres import EmbeddedPostgres
from sutazai.runtime.redis_server import EmbeddedRedis
from tests.netguard.sitecustomize import allowed
from tests.servers import running_postgres, running_redis

_TIERS = {"unit": "unit", "integration": "integration", "contract": "integration", "deploy": "integration",
          "e2e": "e2e", "ha": "ha", "compose": "compose"}


class NonLoopbackConnection(AssertionError):
    """A test tried to open a connection to an address outside 127.0.0.0/8 or ::1."""


def _opted_in_hosts() -> set[str]:
    """Hosts of real production backends named by SUTAZAI_TEST_<NAME>_URL (an explicit
    operator choice to run the contract suites against them)."""
    from urllib.parse import urlsplit

    hosts: set[str] = set()
    for key, value in os.environ.items():
        if key.startswith("SUTAZAI_TEST_") and key.endswith("_URL") and value:
            host = urlsplit(value).hostname
            if host:
                hosts.add(host)
                try:
                    hosts.update(str(info[4][0]) for info in socket.getaddrinfo(host, None))
                except OSError:
                    pass
    return hosts


_ALLOWED = _opted_in_hosts()


def _is_loopback(address: Any) -> bool:
    return allowed(address, _ALLOWED)


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NonLoopbackConnection(f"test tried to connect to {address!r}; only loopback is allowed")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NonLoopbackConnection(f"test tried to connect to {address!r}; only loopback is allowed")
    return _real_connect_ex(self, address)


NETGUARD = Path(__file__).parent / "netguard"


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    # every Python process a test starts carries the same rule (tests/netguard/sitecustomize.py)
    import tempfile

    log = Path(tempfile.mkstemp(prefix="sutazai-netguard-", suffix=".log")[1])
    config.stash[_NETGUARD_LOG] = log
    os.environ["SUTAZAI_TEST_NETGUARD_LOG"] = str(log)
    os.environ["SUTAZAI_TEST_NETGUARD_ALLOW"] = ",".join(sorted(_ALLOWED))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH")) if p)


_NETGUARD_LOG = pytest.StashKey[Path]()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A process a test started that tried to leave loopback fails the run, whatever its test said."""
    log = session.config.stash.get(_NETGUARD_LOG, None)
    if log is None or not log.exists():
        return
    attempts = log.read_text(encoding="utf-8", errors="replace").strip()
    log.unlink(missing_ok=True)
    if attempts:
        session.config.stash[_NETGUARD_ATTEMPTS] = attempts
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("!", "a process a test started tried to leave loopback", red=True)
            reporter.write_line(attempts)


_NETGUARD_ATTEMPTS = pytest.StashKey[str]()


def real_backend(name: str, url: str | None, variable: str, why: str) -> Any:
    """A contract test's leg against a real server: run when its URL is set, else shown as skipped
    with the reason in every run (never silently left out of the collection)."""
    return pytest.param(name, id=name, marks=pytest.mark.skipif(
        not url, reason=f"{name}: {variable} is not set ({why}); set it to run this leg against the real server"))


_TIER_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each tier's time (setup, call and teardown of its tests), summed for the end-of-run report."""
    parts = Path(report.fspath).parts
    tier = parts[1] if len(parts) > 1 and parts[0] == "tests" else (parts[0] if parts else "?")
    _TIER_SECONDS[tier] = _TIER_SECONDS.get(tier, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How long each tier took: `make test` is kept under 45 minutes on a 2-core machine."""
    if _TIER_SECONDS:
        terminalreporter.write_sep("-", "time per tier")
        for tier, seconds in sorted(_TIER_SECONDS.items(), key=lambda item: -item[1]):
            terminalreporter.write_line(f"{tier:>12}  {seconds / 60:6.1f} min")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(Path(__file__).parent).parts
        tier = _TIERS.get(parts[0]) if parts else None
        if tier and not any(item.iter_markers(name=t) for t in ("unit", "integration", "e2e", "ha", "compose")):
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No SUTAZAI_* setting leaks in from the developer's shell (SUTAZAI_TEST_* URLs stay)."""
    for key in list(os.environ):
        if key.startswith("SUTAZAI_") and not key.startswith("SUTAZAI_TEST_"):
            monkeypatch.delenv(key)
    for key in ("OTEL_EXPORTER_OTLP_ENDPOINT", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(key, raising=False)
    # answers are assessed with the documented prior unless a test asks for the calibrator a model ships with
    # (tests/unit/metacognition/test_shipped_calibrator.py): tests of other behaviour do not hinge on it
    monkeypatch.setenv("SUTAZAI_SHIPPED_CALIBRATORS", "false")
    monkeypatch.setenv("XDG_RUNTIME_DIR", os.environ.get("XDG_RUNTIME_DIR", "/tmp"))
    yield


@dataclass
class Backends:
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis

    def settings(self, **extra: object) -> dict[str, object]:
        return {
            "database_url": self.postgres.dsn(), "redis_url": self.redis.url(),
            "jwt_secret": "j" * 40, "startup_timeout_seconds": 20, **extra,
        }


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    root: Path = tmp_path_factory.mktemp("backends")
    with running_postgres(root) as pg, running_redis(root) as rd:
        yield Backends(pg, rd)
