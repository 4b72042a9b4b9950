"""Drive the real `sutazai` command exactly as a user does after `make up`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from sutazai.runtime.processes import free_port, port_in_use

SUTAZAI = str(Path(sys.executable).parent / "sutazai")
TEST_MODEL = "smollm2-135m"
"""The model every stack the tests start runs, whatever `make up`'s default is: it is small
enough for CI's time, and installs from its package without a download."""


@dataclass
class CliStack:
    data_dir: Path
    port: int = field(default_factory=free_port)
    postgres_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    sutazai: str = SUTAZAI
    """The `sutazai` command to run (another installation's, e.g. one installed from a bundle)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args: str, timeout: float = 300, user: str | None = None,
            extra: tuple[str, ...] = (), env: dict[str, str] | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002 - as subprocess names it
        stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        return subprocess.run(
            [self.sutazai, *args, "--data-dir", str(self.data_dir), *extra], capture_output=True,
            text=True, timeout=timeout, check=False, user=user, **stdin,  # type: ignore[call-overload]
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.data_dir.parent), "COLUMNS": "200",
                 "SUTAZAI_MODEL": TEST_MODEL,
                 "SUTAZAI_GRAPH_EXTRACTOR": "model",  # the facts the UI tests explore, as SmolLM2 reads them
                 "SUTAZAI_SHIPPED_CALIBRATORS": "false",  # as every test: the prior, unless the test is about it
                 **(env or {})},
        )

    def up(self, *extra: str, user: str | None = None, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
        return self.run("up", extra=("--port", str(self.port), "--postgres-port", str(self.postgres_port),
                                     "--redis-port", str(self.redis_port), "--grpc-port", str(self.grpc_port),
                                     *extra), user=user, env=env)

    def down(self) -> subprocess.CompletedProcess[str]:
        return self.run("down")

    def status(self) -> dict[str, Any]:
        return json.loads(self.run("status", extra=("--json",)).stdout)

    def create_key(self, role: str = "admin") -> str:
        result = self.run("admin", "create-key", extra=("--role", role))
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def nothing_running(self) -> bool:
        ports_free = not any(port_in_use("127.0.0.1", p)
                             for p in (self.port, self.postgres_port, self.redis_port, self.grpc_port))
        ours = [p for p in psutil.process_iter(["cmdline"])
                if str(self.data_dir) in " ".join(p.info["cmdline"] or [])]
        return ports_free and not ours


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]
