"""Stacks started through the real CLI, shared by the tests of one module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.stack import CliStack


@contextmanager
def cli_stack(home: Path, env: dict[str, str] | None = None) -> Iterator[CliStack]:
    """`sutazai up` (with `env` added to its environment) in a fresh data directory under `home`
    (that `up` creates), `sutazai down` afterwards."""
    cli = CliStack(home / "stacks" / "data")
    started = cli.up(env=env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield cli
    finally:
        cli.down()
