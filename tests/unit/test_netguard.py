"""The loopback-only rule reaches the processes tests start: a child Python that tries an outside
address is refused (PermissionError, as a firewall would) and the attempt is recorded for the
session to fail on; loopback still works."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

CHILD = """
import socket, sys
port = int(sys.argv[1])
with socket.create_connection(("127.0.0.1", port), timeout=5):
    print("loopback ok")
socket.socket().connect(("192.0.2.1", 9))  # TEST-NET-1: documentation space, never routed
"""


def test_a_child_process_cannot_leave_loopback(tmp_path: Path) -> None:
    log = tmp_path / "netguard.log"  # its own record, so that this deliberate attempt does not fail the run
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        child = subprocess.run([sys.executable, "-c", CHILD, str(listener.getsockname()[1])],
                               env={**os.environ, "SUTAZAI_TEST_NETGUARD_LOG": str(log)},
                               capture_output=True, text=True, timeout=60, check=False)
    assert "loopback ok" in child.stdout
    assert child.returncode != 0 and "PermissionError" in child.stderr
    assert "the test network guard refuses ('192.0.2.1', 9)" in child.stderr
    assert "tried to connect to ('192.0.2.1', 9)" in log.read_text()


def test_every_python_a_test_starts_loads_the_guard() -> None:
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0].endswith(os.path.join("tests", "netguard"))
    loaded = subprocess.run([sys.executable, "-c", "import sitecustomize; print(sitecustomize.__file__)"],
                            capture_output=True, text=True, timeout=60, check=True)
    assert Path(loaded.stdout.strip()).parent.name == "netguard"
