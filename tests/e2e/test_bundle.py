"""The air-gap drill: `sutazai bundle export` a real bundle (every locked wheel, the built llama.cpp
wheel, SmolLM2, the project tree), install it with the bundle's own `install.py` and a bare
Python on a "host" with no network at all (a network namespace with no route out, so no package
index, proxy or hub can be reached), then start the installed copy and ask it a question.

The export takes its wheels from the wheelhouse scripts/test-deps.sh filled (the test fetches
nothing); the install gets a fresh HOME, so no pip or uv cache helps it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sutazai.lib.models.manifest import load_manifest
from tests.e2e.stack import SUTAZAI, TEST_MODEL, CliStack

WHEELHOUSE = Path(os.environ.get("SUTAZAI_TEST_WHEELHOUSE")
                  or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sutazai" / "wheelhouse")
BARE_PYTHON = str(Path(sys.base_exec_prefix) / "bin" / "python{}.{}".format(*sys.version_info[:2]))


def no_network() -> list[str]:
    """A prefix that runs a command in a network namespace of its own (no interface is up, so not
    even loopback answers); util-linux's unshare, as root or in a user namespace."""
    for prefix in (["unshare", "--net"], ["unshare", "--map-root-user", "--net"]):
        if shutil.which("unshare") and subprocess.run([*prefix, "true"], capture_output=True,
                                                      check=False).returncode == 0:
            return prefix
    pytest.fail("unshare cannot make a network namespace here; scripts/test-deps.sh installs util-linux")


@dataclass
class Exported:
    path: Path
    manifest_sha256: str
    manifest: dict[str, Any]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("airgap")
    yield path
    shutil.rmtree(path, ignore_errors=True)  # about 3 GB: the bundle, the install and its virtualenv


@pytest.fixture(scope="module")
def exported(home: Path) -> Exported:
    assert (WHEELHOUSE / ".stamp").is_file(), f"{WHEELHOUSE} is not filled; run scripts/test-deps.sh"
    out = home / "sutazai-bundle.tar"
    done = subprocess.run(
        [SUTAZAI, "bundle", "export", "--out", str(out), "--model", TEST_MODEL, "--wheelhouse", str(WHEELHOUSE),
         "--data-dir", str(home / "build-host-data")],
        capture_output=True, text=True, timeout=600, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "COLUMNS": "300"})
    assert done.returncode == 0, done.stdout + done.stderr
    digest = re.search(r"manifest sha256: ([0-9a-f]{64})", done.stdout)
    assert digest, done.stdout
    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    return Exported(out, digest.group(1), manifest)


def test_the_bundle_holds_everything_an_offline_host_needs_and_no_secret(exported: Exported) -> None:
    members = exported.manifest["members"]
    wheels = {m.split("/", 1)[1] for m in members if m.startswith("wheels/")}
    lock = (Path(__file__).resolve().parents[2] / "requirements.lock").read_text()
    locked = {re.sub(r"[-_.]+", "_", line.split("==")[0]).lower() for line in lock.splitlines()
              if line and line[0] not in "# " and "sys_platform == 'win32'" not in line and "emscripten" not in line
              and "python_full_version >= '3.12'" not in line}
    carried = {re.sub(r"[-_.]+", "_", w.split("-")[0]).lower() for w in wheels}
    assert locked <= carried, f"wheels missing for {sorted(locked - carried)}"
    assert any(w.startswith("llama_cpp_python-") for w in wheels) and any(w.startswith("uv-") for w in wheels)
    model = load_manifest().get(TEST_MODEL)
    assert exported.manifest["models"] == [{"name": model.name, "file": model.filename, "sha256": model.sha256,
                                            "size": model.size}]
    assert members[f"models/{model.filename}"]["sha256"] == model.sha256
    for name in ("install.py", "images.json", "README.txt", "source/docker-compose.yml", "source/requirements.lock",
                 "source/images/postgres/patroni.yml", "source/models/manifest.toml"):
        assert name in members, name
    assert members["source/vault/init.sh"].get("executable") is True
    assert not [m for m in members if m.endswith((".env", "monitor-key", ".gguf.sha256")) or "/.venv/" in m
                or "/generated/" in m]
    images = {i["image"] for i in exported.manifest["images"]}
    assert {"sutazai/sutazai:0.1.0", "sutazai/postgres:0.1.0", "sutazai/openbao:0.1.0",
            "hashicorp/vault:1.20.4"} <= images


def test_an_offline_host_installs_it_with_no_network_and_runs_it(exported: Exported, home: Path) -> None:
    installer = home / "install.py"
    with tarfile.open(exported.path) as tar:
        installer.write_bytes(tar.extractfile("install.py").read())  # type: ignore[union-attr]
    into, data = home / "opt-sutazai", home / "offline-data"
    offline_home = home / "offline-home"
    offline_home.mkdir()
    hostile = {"PIP_INDEX_URL": "https://pypi.org/simple", "PIP_FIND_LINKS": str(WHEELHOUSE),
               "UV_INDEX_URL": "https://pypi.org/simple"}  # the installer must ignore the host's settings
    done = subprocess.run(
        [*no_network(), BARE_PYTHON, str(installer), str(exported.path), "--expect", exported.manifest_sha256,
         "--into", str(into), "--data-dir", str(data)],
        capture_output=True, text=True, timeout=900, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(offline_home), **hostile})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every digest matches" in done.stderr and f"SUTAZAI_MODEL={TEST_MODEL} make up" in done.stdout
    venv_python = into / "src" / ".venv" / "bin" / "python"
    where = subprocess.run([str(venv_python), "-c", "import llama_cpp, sutazai; print(sutazai.__file__)"],
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(into / "src" / "services"))  # the bundle's tree, not this checkout

    installed = CliStack(data, sutazai=str(into / "src" / ".venv" / "bin" / "sutazai"))
    closed = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    listed = installed.run("models", "list", extra=("--json",))
    assert {m["name"]: m["verified_sha256"] for m in json.loads(listed.stdout)}[TEST_MODEL] == \
        load_manifest().get(TEST_MODEL).sha256
    started = installed.up(env=closed)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        key = installed.create_key()
        asked = installed.run("ask", "What is 12 times 12?", extra=("--key", key),
                              env=closed)
        assert asked.returncode == 0 and "144" in asked.stdout, asked.stdout + asked.stderr
    finally:
        installed.down()
