"""No traceback ever reaches a user: every command that talks to the API is run against a stopped
stack, with a refused key and with a bad argument; each exits non-zero with a sentence on stderr."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import typer

from sutazai.cli.main import app
from sutazai.runtime.processes import free_port
from tests.integration.conftest import Platform

SUTAZAI = str(Path(os.sys.executable).with_name("sutazai"))  # type: ignore[attr-defined]
STARTS_THINGS = {"up", "down", "serve", "worker", "worker-health", "status", "version", "admin create-key",
                 "audit verify", "audit export", "models list", "models install", "models verify", "models modelfile",
                 "models remove", "eval install", "users", "groups", "grants"}
"""Commands that start or read local things, not the API (tested with the stack elsewhere)."""


def api_commands() -> list[tuple[str, list[str]]]:
    """(name, arguments) for every command with a --url option: its required arguments filled in
    with values of the right shape (an id where an id is wanted)."""
    root = typer.main.get_command(app)
    found: list[tuple[str, list[str]]] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
            return
        name = " ".join(path)
        if name in STARTS_THINGS or path[0] in STARTS_THINGS:
            return
        if not any(p.param_type_name == "option" and "--url" in p.opts for p in command.params):
            return
        args: list[str] = []
        for param in command.params:
            if param.param_type_name == "argument" and param.required:
                args.append("1" if param.bare_type() in ("int", "float") else str(uuid.uuid4()))
            elif param.param_type_name == "option" and param.required:
                args += [param.opts[0], "1" if param.bare_type() in ("int", "float") else "x"]
        found.append((name, [*path, *args]))

    walk(root, [])
    return found


COMMANDS = api_commands()


def run(argv: list[str], url: str, key: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUTAZAI_URL": url, "SUTAZAI_API_KEY": key, "COLUMNS": "200", "HOME": str(cwd)}
    return subprocess.run([SUTAZAI, *argv], capture_output=True, text=True, env=env, timeout=120, check=False,
                          cwd=cwd, stdin=subprocess.DEVNULL)


def test_the_api_commands_are_found() -> None:
    names = {n for n, _ in COMMANDS}
    assert {"ask", "search", "documents list", "traces show", "keys revoke", "meta approve", "eval run",
            "feedback rate"} <= names, sorted(names)


@pytest.mark.parametrize(("name", "argv"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_a_stopped_stack_and_a_refused_key_get_a_sentence(platform: Platform, tmp_path: Path, name: str,
                                                          argv: list[str]) -> None:
    if "ingest" in argv[0]:
        (tmp_path / "a.txt").write_text("text")
        argv = [argv[0], str(tmp_path / "a.txt"), *argv[2:]]
    for url, key in ((f"http://127.0.0.1:{free_port()}", platform.admin_key), (platform.url, "szk_nope_nope")):
        done = run(argv, url, key, tmp_path)
        said = done.stderr + done.stdout
        assert "Traceback" not in said, (name, url, said[-2000:])
        assert done.returncode != 0, (name, url, done.stdout[-500:])
        assert done.stderr.strip(), (name, url)
