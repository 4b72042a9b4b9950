"""The embedded stack's processes under supervisord (the `supervisor` package): PostgreSQL, Redis
+ FalkorDB and the SutazAI server are its programs. A program that dies is started again
(`autorestart`), after `startsecs` it counts as running, and one that keeps dying within
`startsecs` is given up (FATAL) after `startretries` tries. supervisord itself runs as a daemon
with its control socket in the data directory's `run/` (mode 0700); `Supervisor` talks to it over
that socket with supervisor's own XML-RPC client, and reads its log for what happened (each
unexpected exit, with the signal or exit code)."""

from __future__ import annotations

import contextlib
import re
import shlex
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from sutazai.runtime.processes import is_alive, read_pidfile

_EXIT = re.compile(r"^(\S+ \S+) (?:INFO|WARN|CRIT) exited: (\S+) \((.+)\)$")
RUNNING, STARTING, BACKOFF, FATAL = "RUNNING", "STARTING", "BACKOFF", "FATAL"


class SupervisorError(RuntimeError):
    """supervisord could not be started or reached."""


@dataclass(frozen=True)
class Program:
    """One supervised process."""

    name: str
    command: Sequence[str]
    log: Path
    directory: Path
    priority: int
    autostart: bool = True
    stopsignal: str = "TERM"
    stopwaitsecs: int = 30
    startsecs: int = 3
    startretries: int = 5
    user: str | None = None
    stopasgroup: bool = True
    """send the stop signal to the program's process group (False: the program stops its own children)"""

    def section(self) -> str:
        lines = [
            f"[program:{self.name}]",
            f"command={_escape(shlex.join(self.command))}",
            f"directory={_escape(str(self.directory))}",
            f"priority={self.priority}",
            f"autostart={str(self.autostart).lower()}",
            "autorestart=true",
            f"startsecs={self.startsecs}",
            f"startretries={self.startretries}",
            f"stopsignal={self.stopsignal}",
            f"stopwaitsecs={self.stopwaitsecs}",
            f"stopasgroup={str(self.stopasgroup).lower()}",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_escape(str(self.log))}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=3",
        ]
        if self.user:
            lines.append(f"user={self.user}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    """A value for supervisord's configuration, which expands %(name)s expressions."""
    return value.replace("%", "%%")


class Supervisor:
    """supervisord for one data directory."""

    def __init__(self, run_dir: Path, logs_dir: Path) -> None:
        self.run_dir, self.logs_dir = run_dir, logs_dir
        self.config = run_dir / "supervisord.conf"
        self.socket = run_dir / "supervisor.sock"
        self.pidfile = run_dir / "supervisord.pid"
        self.log = logs_dir / "supervisord.log"

    # ---- lifecycle ---------------------------------------------------------------------
    def write_config(self, programs: Sequence[Program]) -> None:
        head = "\n".join([
            "[unix_http_server]", f"file={_escape(str(self.socket))}", "chmod=0700", "",
            "[supervisord]", f"logfile={_escape(str(self.log))}", "logfile_maxbytes=20MB", "logfile_backups=3",
            f"pidfile={_escape(str(self.pidfile))}", f"childlogdir={_escape(str(self.logs_dir))}",
            "umask=077", "nodaemon=false", "silent=true", "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", f"serverurl=unix://{_escape(str(self.socket))}", "", "",
        ])
        self.config.write_text(head + "\n".join(p.section() for p in programs))
        self.config.chmod(0o600)

    def pid(self) -> int | None:
        pid = read_pidfile(self.pidfile)
        return pid if is_alive(pid, cmdline_hint="supervisord") else None

    def start(self, *, timeout: float = 30.0) -> int:
        """Start supervisord (it daemonizes; its autostart programs start at once)."""
        self.socket.unlink(missing_ok=True)
        result = subprocess.run(  # noqa: S603 - our interpreter and the supervisor package
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config)],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0:
            raise SupervisorError(f"supervisord did not start: {(result.stderr or result.stdout).strip()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.pid()
            if pid is not None and self.socket.exists():
                with contextlib.suppress(OSError, xmlrpc.client.Fault):
                    self.rpc().supervisor.getState()
                    return pid
            time.sleep(0.1)
        raise SupervisorError(f"supervisord did not answer within {timeout:.0f}s (log: {self.log})")

    def shutdown(self, *, timeout: float = 90.0) -> bool:
        """Stop every program (in reverse priority) and supervisord; True if it was running."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(OSError, xmlrpc.client.Fault):
            self.rpc().supervisor.shutdown()
        deadline = time.monotonic() + timeout
        while is_alive(pid, cmdline_hint="supervisord") and time.monotonic() < deadline:
            time.sleep(0.2)
        return True

    # ---- control -----------------------------------------------------------------------
    def rpc(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def start_program(self, name: str) -> None:
        try:
            self.rpc().supervisor.startProcess(name, False)
        except xmlrpc.client.Fault:
            pass  # already started
        except OSError as exc:
            raise SupervisorError(f"supervisord stopped answering ({exc}); see {self.log}") from exc

    def info(self, name: str) -> dict[str, Any]:
        try:
            return dict(self.rpc().supervisor.getProcessInfo(name))
        except (OSError, xmlrpc.client.Fault) as exc:
            raise SupervisorError(f"supervisord cannot say how {name} is ({exc}); see {self.log}") from exc

    def programs(self) -> list[dict[str, Any]]:
        """Each program: name, state, pid, uptime (s), how many times it exited unexpectedly since
        supervisord started, and the last three such exits (when, and how: signal or exit status)."""
        try:
            infos = self.rpc().supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Fault):
            return []
        exits = self.exits()
        found = []
        for info in infos:
            name = str(info["name"])
            running = info["statename"] == RUNNING
            found.append({
                "name": name, "state": str(info["statename"]), "pid": int(info["pid"]) or None,
                "uptime_s": max(int(info["now"]) - int(info["start"]), 0) if running else 0,
                "exits": exits.get(name, [])[-3:], "unexpected_exits": len(exits.get(name, [])),
                "error": str(info.get("spawnerr") or "") or None,
            })
        return found

    def exits(self) -> dict[str, list[dict[str, str]]]:
        """Unexpected exits per program since supervisord started (from its log)."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return {}
        start = max((i for i, line in enumerate(lines) if "INFO supervisord started" in line), default=0)
        found: dict[str, list[dict[str, str]]] = {}
        for line in lines[start:]:
            match = _EXIT.match(line)
            if match and "not expected" in match.group(3):
                when = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").astimezone(UTC)
                found.setdefault(match.group(2), []).append({"at": when.isoformat(timespec="seconds"),
                                                             "how": match.group(3).replace("; not expected", "")})
        return found
