"""`sutazai status --compose` names each deployment fault with its fix: the rules on secrets (the
same vault-init applies), the reading of Docker's start errors and of the services' logs, and a
port held by another program (a real socket). The whole command against a running stack is in the
Compose tier (tests/compose/test_status.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from sutazai.runtime.compose_status import inspect_error, log_fault, port_problems, secret_problems

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
COMPOSE = (ROOT / "docker-compose.yml").read_text()
GOOD = {"SUTAZAI_JWT_SECRET": "a" * 64, "POSTGRES_PASSWORD": "3f9a1c77d2e04b18", "REDIS_PASSWORD": "8b2e6f40a9c15d73",
        "POSTGRES_REPLICATION_PASSWORD": "c0ffee11d2e04b18", "POSTGRES_SUPERUSER_PASSWORD": "beef0011d2e04b18"}


def test_the_secrets_the_compose_file_requires_are_checked_as_vault_init_checks_them() -> None:
    assert secret_problems(COMPOSE, GOOD) == []
    found = {p.where: p.message for p in secret_problems(COMPOSE, {
        **GOOD, "REDIS_PASSWORD": "", "POSTGRES_PASSWORD": "changeme-changeme", "SUTAZAI_JWT_SECRET": "k" * 20})}
    assert set(found) == {"REDIS_PASSWORD", "POSTGRES_PASSWORD", "SUTAZAI_JWT_SECRET"}
    assert found["REDIS_PASSWORD"].startswith("REDIS_PASSWORD is not set: put `REDIS_PASSWORD=<random>` in .env")
    assert "looks like a placeholder" in found["POSTGRES_PASSWORD"]
    assert "has 20 characters: use at least 32" in found["SUTAZAI_JWT_SECRET"]
    missing = {p.where for p in secret_problems(COMPOSE, {})}
    assert {"SUTAZAI_JWT_SECRET", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "POSTGRES_REPLICATION_PASSWORD",
            "POSTGRES_SUPERUSER_PASSWORD"} <= missing


@pytest.mark.parametrize(("log", "expected"), [
    ("starting\nvault-init: POSTGRES_PASSWORD looks like a placeholder; set a random value in .env\n",
     "POSTGRES_PASSWORD looks like a placeholder"),
    ("ERROR reading secrets: Vault at http://vault:8200 is sealed, so identity cannot read its secrets",
     "Vault is sealed: unseal it with `docker compose run --rm vault-init`"),
    ('PANIC:  could not write to file "pg_wal/xlogtemp.63": No space left on device', "data volume is full"),
    ("OOM command not allowed when used memory > 'maxmemory'.", "ran out of memory"),
    ('FATAL:  password authentication failed for user "sutazai"', "no longer matches the one the data volume"),
])
def test_a_log_line_becomes_the_fault_and_its_fix(log: str, expected: str) -> None:
    found = log_fault(log)
    assert found is not None and expected in found


def test_a_log_with_no_known_fault_says_nothing() -> None:
    assert log_fault("INFO ready\nINFO serving on :8000\n") is None


def test_dockers_start_errors_become_the_fix() -> None:
    taken = ("driver failed programming external connectivity on endpoint sutazai-haproxy-1: Bind for "
             "127.0.0.1:8443 failed: port is already allocated")
    assert "port 8443 on 127.0.0.1 is in use by another program" in (inspect_error(taken) or "")
    assert "SUTAZAI_HTTPS_PORT" in (inspect_error(taken) or "")
    listen = "listen tcp4 127.0.0.1:50051: bind: address already in use"
    assert "SUTAZAI_GRPC_PORT" in (inspect_error(listen) or "")


def test_a_port_another_program_holds_is_named_with_its_setting() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        problems = port_problems({"SUTAZAI_BIND_ADDRESS": "127.0.0.1", "SUTAZAI_HTTP_PORT": str(port),
                                  "SUTAZAI_HTTPS_PORT": "0", "SUTAZAI_GRPC_PORT": "0"})
    assert [p.where for p in problems] == [f"port {port}"]
    assert "SUTAZAI_HTTP_PORT in .env" in problems[0].message
