"""`sutazai status --compose` against the running production stack: healthy when it is, and each
deployment fault it can be shown here named with its fix, then repaired: a port another program
holds when HAProxy starts, and Vault sealed by a restart (unsealed again by rerunning vault-init,
which is safe to rerun)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.compose.conftest import COMPOSE, PROJECT, ROOT, Stack

pytestmark = pytest.mark.compose
SUTAZAI = str(Path(sys.executable).with_name("sutazai"))


def status(env_file: Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run([SUTAZAI, "status", "--compose", "--json", "-p", PROJECT, "--env-file", str(env_file),  # noqa: S603
                           "--project-directory", str(ROOT)], capture_output=True, text=True, check=False,
                          timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode in (0, 1, 3), done.stderr
    return done.returncode, json.loads(done.stdout)


def problems(report: dict[str, Any]) -> dict[str, str]:
    return {p["where"]: p["message"] for p in report["problems"]}


def test_status_of_the_running_stack_is_healthy(stack: Stack) -> None:
    code, report = status(stack.env_file)
    assert code == 0, report["problems"]
    assert report["healthy"] and report["vault"] == "unsealed"
    services = {c["service"]: c for c in report["containers"]}
    assert {"haproxy", "identity", "reasoning", "knowledge", "learning", "metacognition", "postgres-1",
            "postgres-2", "redis-master", "vault", "vault-init"} <= set(services)
    assert services["vault-init"]["one_shot"] and services["vault-init"]["state"] == "exited"


def test_a_port_in_use_is_named_with_the_setting_that_moves_it(stack: Stack, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        moved = tmp_path / ".env"
        moved.write_text(stack.env_file.read_text().replace(f"SUTAZAI_HTTP_PORT={stack.http}",
                                                            f"SUTAZAI_HTTP_PORT={taken}"))
        try:
            up = subprocess.run([COMPOSE, "-p", PROJECT, "--env-file", str(moved), "-f",  # noqa: S603
                                 str(ROOT / "docker-compose.yml"), "up", "-d", "--no-deps", "haproxy"],
                                capture_output=True, text=True, check=False, cwd=ROOT, timeout=300)
            # Compose v2 reports the failed start but exits 0 with -d: the container stays created, not running
            assert "address already in use" in up.stderr, up.stderr
            code, report = status(moved)
            assert code == 1 and not report["healthy"]
            said = problems(report)
            assert f"port {taken} on 127.0.0.1 is in use by another program" in said[f"port {taken}"]
            assert "SUTAZAI_HTTP_PORT in .env" in said[f"port {taken}"]
            assert "in use by another program" in said["haproxy"]
        finally:
            stack.compose("up", "-d", "--no-deps", "--wait", "haproxy", timeout=300)
    assert status(stack.env_file)[0] == 0


def test_a_sealed_vault_is_named_and_rerunning_vault_init_unseals_it(stack: Stack) -> None:
    stack.compose("restart", "vault", timeout=300)  # OpenBao starts sealed: its key is not on its disk
    try:
        code, report = status(stack.env_file)
        assert code == 1 and report["vault"] == "sealed"
        assert "run --rm vault-init" in problems(report)["vault"]
    finally:
        stack.compose("run", "--rm", "vault-init", timeout=300)
    code, report = status(stack.env_file)
    assert code == 0 and report["vault"] == "unsealed", report["problems"]
