"""Bad input to `sutazai up`: a one-line error naming the problem and the fix, a non-zero
exit, and nothing half-started left running."""

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.e2e.stack import CliStack, one_line_error


def test_a_data_directory_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    cli = CliStack(tmp_path / "a-file" / "data")
    result = cli.up()
    assert result.returncode == 1
    line = one_line_error(result)
    assert "cannot be created" in line and "--data-dir" in line
    assert cli.nothing_running()


def test_data_directory_not_writable(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        data = Path("/sys/kernel")  # root may write anywhere on disk, but sysfs refuses new files
    else:
        data = tmp_path / "ro"
        data.mkdir()
        data.chmod(0o555)
    cli = CliStack(data)
    result = cli.up()
    assert result.returncode == 1, result.stdout + result.stderr
    line = one_line_error(result)
    assert "is not writable" in line and "--data-dir" in line
    assert cli.nothing_running()


def test_port_in_use(tmp_path: Path) -> None:
    cli = CliStack(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", cli.port))
        busy.listen()
        result = cli.up()
    assert result.returncode == 1
    line = one_line_error(result)
    assert f"port {cli.port} (for the API) is already in use" in line and "--port" in line
    assert not (tmp_path / "postgres").exists()  # nothing was started


def test_model_file_missing(tmp_path: Path) -> None:
    cli = CliStack(tmp_path)
    result = cli.up("--model-path", str(tmp_path / "missing.gguf"))
    assert result.returncode == 1
    line = one_line_error(result)
    assert "missing.gguf not found" in line and "--model-path" in line
    assert cli.nothing_running()


def test_postgres_that_does_not_come_up(tmp_path: Path) -> None:
    import os
    import shutil

    from sutazai.runtime.postgres import SYSTEM_HOME

    cli = CliStack(tmp_path)
    home = tmp_path / "postgres"
    if os.geteuid() == 0:  # root: the server's files live under /var/lib/sutazai, linked from the data dir
        home = SYSTEM_HOME / f"postgres-test-{tmp_path.name}"
        home.mkdir(parents=True, mode=0o700)
        (tmp_path / "postgres").symlink_to(home)
    try:
        pgdata = home / "pgdata"
        pgdata.mkdir(parents=True)
        (pgdata / "PG_VERSION").write_text("9\n")  # a data directory from an incompatible server
        result = cli.up()
        assert result.returncode == 1
        line = one_line_error(result)
        assert "PostgreSQL" in line and "log:" in line
        assert cli.nothing_running()
    finally:
        if home != tmp_path / "postgres":
            shutil.rmtree(home, ignore_errors=True)


def test_redis_failure_stops_the_postgres_already_started(tmp_path: Path) -> None:
    cli = CliStack(tmp_path)
    (tmp_path / "redis" / "redis.log").mkdir(parents=True)  # Redis cannot open its log file
    result = cli.up()
    assert result.returncode == 1, result.stdout
    line = one_line_error(result)
    assert "Redis did not start" in line
    assert "stopping what was started" in result.stdout
    assert cli.nothing_running()
    assert not (tmp_path / "run" / "state.json").exists()


@pytest.mark.parametrize("command", [["status"], ["down"]])
def test_commands_on_a_stack_that_is_not_running(tmp_path: Path, command: list[str]) -> None:
    result = CliStack(tmp_path).run(*command)
    assert result.returncode == (3 if command == ["status"] else 0)
    assert "not running" in result.stdout or "nothing to stop" in result.stdout


def test_help_explains_the_commands() -> None:
    from tests.e2e.stack import SUTAZAI

    result = subprocess.run([SUTAZAI, "--help"], capture_output=True, text=True, check=True)
    for word in ("up", "down", "status", "admin", "serve", "worker"):
        assert word in result.stdout
