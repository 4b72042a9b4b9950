"""The Compose tier: the production stack (docker-compose.yml) from images built here with no
registry, on a Docker engine this tier starts itself (and stops by PID) when none runs. Every port
is published on 127.0.0.1; the containers talk only on the networks this engine made."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sutazai.runtime.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = str(Path(sys.executable).with_name("docker-compose"))
PROJECT = "sutazai-tier"
UP_TIMEOUT = 900


def _docker_answers() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True, check=False).returncode == 0  # noqa: S607


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A running Docker engine: the one that answers, or dockerd started here and stopped by its PID."""
    if _docker_answers():
        yield
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        pytest.skip("no Docker engine answers and none can be started here (needs root and Debian's docker.io, "
                    "which scripts/test-deps.sh installs)")
    folder = tmp_path_factory.mktemp("dockerd")
    log = (folder / "dockerd.log").open("wb")
    engine = subprocess.Popen([dockerd, "--pidfile", str(folder / "dockerd.pid")],  # noqa: S603
                              stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not _docker_answers():
        if engine.poll() is not None or time.monotonic() > deadline:
            engine.kill()
            pytest.fail(f"dockerd did not start: {(folder / 'dockerd.log').read_text()[-1500:]}")
        time.sleep(0.5)
    try:
        yield
    finally:
        engine.terminate()
        try:
            engine.wait(timeout=60)
        except subprocess.TimeoutExpired:
            engine.kill()
        log.close()


@pytest.fixture(scope="session")
def images(docker_engine: None) -> None:
    """Every image the stack runs, built from the debootstrap base and the test wheelhouse (the
    builds are cached by Docker: a second run takes seconds)."""
    wheels = Path(os.environ.get("SUTAZAI_TEST_WHEELHOUSE")
                  or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sutazai" / "wheelhouse")
    started = time.monotonic()
    built = subprocess.run([str(Path(sys.executable).with_name("sutazai")), "images", "build",  # noqa: S603
                            "--wheels", str(wheels)], capture_output=True, text=True, check=False, cwd=ROOT)
    assert built.returncode == 0, built.stderr[-3000:]
    print(f"images ready in {time.monotonic() - started:.0f} s")  # noqa: T201


@dataclass
class Stack:
    env_file: Path
    https: int
    http: int
    grpc: int
    ca: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https}"

    def compose(self, *args: str, check: bool = True, timeout: float = UP_TIMEOUT,
                files: tuple[str, ...] = ("docker-compose.yml",), project: str = PROJECT) -> str:
        command = [COMPOSE, "-p", project, "--env-file", str(self.env_file)]
        for name in files:
            command += ["-f", str(ROOT / name)]
        done = subprocess.run([*command, *args], capture_output=True, text=True, check=False,  # noqa: S603
                              cwd=ROOT, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"docker compose {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stderr[-2500:]}\n{self.diagnose()}")
        return done.stdout + done.stderr

    def diagnose(self) -> str:
        """Each container's state and, for those not healthy, the end of its log."""
        listing = subprocess.run([COMPOSE, "-p", PROJECT, "ps", "-a", "--format",  # noqa: S603
                                  "{{.Name}}|{{.Status}}"], capture_output=True, text=True, check=False).stdout
        lines = [listing]
        for row in listing.splitlines():
            name, _, status = row.partition("|")
            if "healthy" not in status or "unhealthy" in status:
                logs = subprocess.run(["docker", "logs", "--tail", "15", name],  # noqa: S607
                                      capture_output=True, text=True, check=False)
                lines.append(f"--- {name}: {status}\n{(logs.stdout + logs.stderr)[-1500:]}")
        return "\n".join(lines)

    def up(self) -> float:
        started = time.monotonic()
        self.compose("up", "-d", "--wait", "--wait-timeout", str(UP_TIMEOUT))
        return time.monotonic() - started

    def exec(self, service: str, *args: str) -> str:
        return self.compose("exec", "-T", service, *args, timeout=120)

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).strip().splitlines()[0]

    def crash(self, service: str) -> None:
        """SIGKILL to the container's first process from the host: a crash, which the restart policy
        answers (`docker kill` counts as an operator's stop, which it does not)."""
        pid = int(subprocess.run(["docker", "inspect", "--format", "{{.State.Pid}}", self.container(service)],  # noqa: S607
                                 capture_output=True, text=True, check=True).stdout.strip())
        assert pid > 1, f"{service} is not running"
        os.kill(pid, signal.SIGKILL)

    def client(self, key: str | None = None, timeout: float = 120) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout, verify=self.tls())

    def tls(self) -> ssl.SSLContext:
        """The edge's self-signed certificate trusted; its name (SUTAZAI_TLS_CN) is not 127.0.0.1."""
        context = ssl.create_default_context(cafile=str(self.ca))
        context.check_hostname = False
        return context


def write_env(path: Path) -> tuple[int, int, int]:
    ports = free_port(), free_port(), free_port()
    values = {
        "SUTAZAI_JWT_SECRET": secrets.token_hex(32), "POSTGRES_PASSWORD": secrets.token_hex(16),
        "POSTGRES_REPLICATION_PASSWORD": secrets.token_hex(16), "POSTGRES_SUPERUSER_PASSWORD": secrets.token_hex(16),
        "REDIS_PASSWORD": secrets.token_hex(16), "SUTAZAI_BIND_ADDRESS": "127.0.0.1",
        "SUTAZAI_HTTP_PORT": str(ports[0]), "SUTAZAI_HTTPS_PORT": str(ports[1]), "SUTAZAI_GRPC_PORT": str(ports[2]),
        "SUTAZAI_CHAT_MODEL": "smollm2:135m",  # the test model; it ships inside the image
        "SUTAZAI_MODELS_DIR": str(path.parent / "models"), "SUTAZAI_TLS_CN": "sutazai.internal",
    }
    (path.parent / "models").mkdir(exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return ports


@pytest.fixture(scope="session")
def configured(images: None, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """The stack's .env and its handle, not started (for what needs only the images and the files)."""
    folder = tmp_path_factory.mktemp("compose")
    http, https, grpc_port = write_env(folder / ".env")
    return Stack(folder / ".env", https=https, http=http, grpc=grpc_port, ca=folder / "edge.crt")


@pytest.fixture(scope="session")
def stack(configured: Stack) -> Iterator[Stack]:
    running = configured
    running.compose("down", "-v", "--remove-orphans", timeout=300)  # what an interrupted run left
    try:
        took = running.up()
        print(f"stack healthy in {took:.0f} s")  # noqa: T201
        pem = running.exec("haproxy", "cat", "/certs/sutazai.pem")
        running.ca.write_text(pem[pem.index("-----BEGIN CERTIFICATE-----"):pem.index("-----END CERTIFICATE-----")]
                              + "-----END CERTIFICATE-----\n")
        yield running
    finally:
        if os.environ.get("SUTAZAI_TEST_KEEP_STACK"):  # to look at a failure: `docker compose -p sutazai-tier ps`
            print(f"stack kept: {running.env_file}")  # noqa: T201
        else:
            running.compose("down", "-v", "--remove-orphans", check=False, timeout=300)


@pytest.fixture(scope="session")
def admin_key(stack: Stack) -> str:
    """The first admin key, made as an operator makes it: inside the identity container."""
    printed = stack.exec("identity", "sutazai", "admin", "create-key", "--role", "admin", "--name", "compose-tier")
    return next(w for w in printed.split() if w.startswith("szk_"))
