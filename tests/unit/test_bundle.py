"""Air-gap bundles: every way a bundle can be damaged or altered is refused before anything is
installed, with a sentence that says what happened; the pieces export relies on (markers for the
target Python, the pins beside the lock, the image list, the source tree) read the real files.
Bundles here are small tars written in the export's format; tests/e2e/test_bundle.py exports and
installs a real one offline."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sutazai.cli.main import app
from sutazai.runtime import bundle_install
from sutazai.runtime.bundle import bootstrap_pins, images, locked_pins, source_files
from sutazai.runtime.bundle_install import FORMAT, BundleError, install, offline_environment, unpack

ROOT = Path(__file__).resolve().parents[2]
FILES = {
    "source/scripts/bootstrap.sh": b"#!/usr/bin/env bash\nexit 0\n",
    "source/README.md": b"# SutazAI\n",
    "wheels/tiny-1.0-py3-none-any.whl": b"PK not really a wheel" * 50,
    "models/tiny.gguf": b"GGUF" + bytes(range(256)) * 8,
}


def manifest_for(files: dict[str, bytes], **extra: Any) -> dict[str, Any]:
    return {"format": FORMAT, "sutazai": "0.1.0", "python": {"implementation": "cpython", "version": "3.11"},
            "models": [], "members": {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                             **({"executable": True} if name.endswith(".sh") else {})}
                                      for name, data in files.items()}, **extra}


def write(path: Path, manifest: dict[str, Any] | bytes, members: list[tuple[str, bytes]],
          links: tuple[str, ...] = ()) -> Path:
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in [("manifest.json", raw), *members]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return path


def good(tmp_path: Path) -> Path:
    return write(tmp_path / "good.tar", manifest_for(FILES), list(FILES.items()))


def test_a_sound_bundle_is_read_whole_and_written_with_its_modes(tmp_path: Path) -> None:
    into, seen = tmp_path / "out", []
    verified = unpack(good(tmp_path), into, progress=seen.append)
    assert verified.members == len(FILES) and verified.size == sum(len(d) for d in FILES.values())
    assert {p.relative_to(into).as_posix(): p.read_bytes() for p in into.rglob("*") if p.is_file()} == FILES
    assert os.access(into / "source/scripts/bootstrap.sh", os.X_OK)
    assert not os.access(into / "source/README.md", os.X_OK)
    assert seen[0].startswith("checking 4 files") and seen[-1] == "checked 100%"
    with tarfile.open(tmp_path / "good.tar") as tar:
        raw = tar.extractfile("manifest.json").read()  # type: ignore[union-attr]
    assert verified.manifest_sha256 == hashlib.sha256(raw).hexdigest()
    assert unpack(tmp_path / "good.tar", None, expect=verified.manifest_sha256.upper()).members == 4


def damaged(tmp_path: Path, how: str) -> Path:
    files = dict(FILES)
    members = list(files.items())
    manifest: dict[str, Any] | bytes = manifest_for(files)
    links: tuple[str, ...] = ()
    if how == "flipped byte":
        name, data = members[2]
        members[2] = (name, data[:10] + bytes([data[10] ^ 1]) + data[11:])
    elif how == "extra file":
        members.append(("source/services/evil.py", b"import os\n"))
    elif how == "missing file":
        members.pop()
    elif how == "twice":
        members.append(members[0])
    elif how == "escapes":
        files["../outside"] = b"x"
        manifest, members = manifest_for(files), list(files.items())
    elif how == "absolute":
        files["/etc/cron.d/evil"] = b"x"
        manifest, members = manifest_for(files), list(files.items())
    elif how == "link":
        assert isinstance(manifest, dict)
        manifest["members"]["source/link"] = {"sha256": "0" * 64, "size": 0}
        links = ("source/link",)
    elif how == "other format":
        assert isinstance(manifest, dict)
        manifest["format"] = "something-else/3"
    elif how == "not json":
        manifest = b"{not json"
    elif how == "model as an option":
        assert isinstance(manifest, dict)
        manifest["models"] = [{"name": "--data-dir=/etc", "file": "tiny.gguf", "size": 1, "sha256": "0" * 64}]
    elif how == "model not carried":
        assert isinstance(manifest, dict)
        manifest["models"] = [{"name": "tiny", "file": "other.gguf", "size": 1, "sha256": "0" * 64}]
    elif how == "no digest":
        assert isinstance(manifest, dict)
        manifest["members"]["source/README.md"] = {"size": 10}
    return write(tmp_path / f"{how}.tar", manifest, members, links)


@pytest.mark.parametrize(("how", "says"), [
    ("flipped byte", "has sha256 .* but the manifest names .*nothing was installed"),
    ("extra file", "holds 'source/services/evil.py', which its manifest does not list"),
    ("missing file", "lacks 1 file.*first: models/tiny.gguf.*truncated"),
    ("twice", "holds 'source/scripts/bootstrap.sh' twice"),
    ("escapes", "names a file '../outside' outside its own tree"),
    ("absolute", "names a file '/etc/cron.d/evil' outside its own tree"),
    ("link", "'source/link' in the bundle is a link or a special file"),
    ("other format", "not a sutazai-bundle/1 bundle"),
    ("not json", "manifest is not JSON"),
    ("no digest", "'source/README.md' has no valid sha256 and size"),
    ("model as an option", "names a model it does not carry properly"),
    ("model not carried", "names a model it does not carry properly"),
])
def test_a_damaged_or_altered_bundle_is_refused_and_nothing_is_installed(tmp_path: Path, how: str,
                                                                          says: str) -> None:
    into = tmp_path / "install"
    with pytest.raises(BundleError, match=says):
        install(damaged(tmp_path, how), into, python="/bin/false-python-never-run")
    assert list(into.iterdir()) == []  # no source, no wheels, no staging folder


def test_a_truncated_bundle_and_a_bundle_without_a_manifest_first_are_refused(tmp_path: Path) -> None:
    whole = good(tmp_path).read_bytes()
    (tmp_path / "cut.tar").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(BundleError, match="truncated|damaged|not the size"):
        unpack(tmp_path / "cut.tar", None)
    reordered = write(tmp_path / "reordered.tar", b"", [])
    with tarfile.open(reordered, "w") as tar:
        for name, data in [("README.txt", b"hello"), ("manifest.json", json.dumps(manifest_for(FILES)).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BundleError, match="does not start with a manifest"):
        unpack(reordered, None)
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(BundleError, match="not a readable bundle|not a bundle"):
        unpack(tmp_path / "junk.tar", None)


def test_a_manifest_that_is_not_the_one_the_exporter_printed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not the 0{64} you expected.*nothing was installed"):
        unpack(good(tmp_path), None, expect="0" * 64)


def test_an_install_goes_only_into_a_new_folder_with_the_pythons_the_wheels_are_for(tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "something").write_text("kept")
    with pytest.raises(BundleError, match="is not empty; import into a new folder"):
        install(good(tmp_path), occupied)
    assert (occupied / "something").read_text() == "kept"
    other = write(tmp_path / "py310.tar", manifest_for(FILES, python={"version": "3.10"}), list(FILES.items()))
    into = tmp_path / "new"
    with pytest.raises(BundleError, match=r"wheels are for Python 3\.10.*name a Python 3\.10 with --python"):
        install(other, into)
    assert list(into.iterdir()) == []


def test_installers_run_with_no_index_and_every_proxy_at_a_closed_loopback_port() -> None:
    env = offline_environment({"PATH": "/usr/bin", "PIP_INDEX_URL": "https://pypi.org/simple",
                               "PIP_FIND_LINKS": "/opt/wheels", "UV_INDEX_URL": "https://example.org",
                               "https_proxy": "http://proxy.corp:3128", "NO_PROXY": "*"})
    assert env["PATH"] == "/usr/bin" and "PIP_FIND_LINKS" not in env
    assert env["PIP_NO_INDEX"] == "1" and env["PIP_CONFIG_FILE"] == os.devnull and env["UV_OFFLINE"] == "1"
    assert env["PIP_INDEX_URL"].startswith("http://127.0.0.1:9") and env["UV_INDEX_URL"].startswith("http://127.0.0.1:9")
    assert {env[k] for k in ("HTTP_PROXY", "HTTPS_PROXY", "https_proxy", "ALL_PROXY")} == {"http://127.0.0.1:9"}
    assert env["NO_PROXY"] == "" and env["no_proxy"] == ""


def test_the_lock_is_read_for_the_target_python_not_the_one_exporting() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    for_311, for_312 = set(locked_pins(lock, "3.11")), set(locked_pins(lock, "3.12"))
    assert "scipy==1.17.1" in for_311 and "scipy==1.18.1" not in for_311
    assert "scipy==1.18.1" in for_312 and "scipy==1.17.1" not in for_312
    assert any(p.startswith("async-timeout==") for p in for_311)  # only below 3.11.3: kept for any 3.11.z
    assert not any(p.startswith("async-timeout==") for p in for_312)
    assert not any(p.startswith(("tzdata==", "httpx2-jsfetch==")) for p in for_311 | for_312)  # Windows, browsers
    assert "llama-cpp-python==0.3.36" in for_311
    with pytest.raises(BundleError, match="a line this export does not understand"):
        locked_pins("numpy>=2\n", "3.11")


def test_the_pins_beside_the_lock_are_read_from_the_installer_itself(tmp_path: Path) -> None:
    pins = bootstrap_pins(ROOT)
    assert pins["UV_VERSION"] and pins["SMOLLM_VERSION"]
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts/bootstrap.sh").write_text('UV_VERSION="1"\n')
    with pytest.raises(BundleError, match="no longer names UV_VERSION and SMOLLM_VERSION"):
        bootstrap_pins(tmp_path)


def test_every_image_the_compose_files_name_is_listed_and_what_compose_builds_is_marked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    listed = {i["image"]: i for i in images(ROOT)}
    ours = listed["sutazai/sutazai:0.1.0"]
    assert ours["build"] is True and "identity" in ours["services"]
    for name in ("postgres", "redis", "openbao", "etcd", "haproxy", "base"):
        assert listed[f"sutazai/{name}:0.1.0"]["build"] is True, name  # `sutazai images build` makes them
    assert listed["prom/prometheus:v3.7.3"]["build"] is False  # from the observability overlay
    assert listed["ollama/ollama:0.12.11"]["build"] is False  # the card's images (compose/card-images.yml)
    assert all(i["digest"] is None or i["digest"].startswith("sha256:") for i in listed.values())
    monkeypatch.setenv("SUTAZAI_VAULT_IMAGE", "registry.corp/openbao@sha256:" + "a" * 64)
    pinned = {i["image"]: i for i in images(ROOT)}["registry.corp/openbao@sha256:" + "a" * 64]
    assert pinned["digest"] == "sha256:" + "a" * 64


def test_the_source_tree_leaves_out_environments_caches_models_and_secrets(tmp_path: Path) -> None:
    tree = {"pyproject.toml": "x", "services/sutazai/__init__.py": "", ".env.example": "A=1", ".env": "SECRET=1",
            ".venv/bin/python": "", "services/sutazai/__pycache__/x.pyc": "", "models/manifest.toml": "",
            "models/qwen.gguf": "", "models/qwen.gguf.sha256": "", "services/sutazai/grpc_api/generated/pb.py": "",
            "bench/data/suite.json": "", "bench/run.py": "", "compose/prometheus/monitor-key": "k"}
    for name, text in tree.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert source_files(tmp_path) == [".env.example", "bench/run.py", "models/manifest.toml", "pyproject.toml",
                                      "services/sutazai/__init__.py"]
    tracked = source_files(ROOT)  # the checkout: what git tracks and does not ignore
    assert "scripts/bootstrap.sh" in tracked and "docker-compose.yml" in tracked
    assert not any(n.startswith((".venv/", ".git/")) or n.endswith(".gguf") for n in tracked)


def test_the_cli_checks_a_bundle_and_says_what_is_wrong(tmp_path: Path) -> None:
    runner = CliRunner()
    checked = runner.invoke(app, ["bundle", "import", str(good(tmp_path)), "--check"])
    assert checked.exit_code == 0 and "every digest matches" in checked.output
    refused = runner.invoke(app, ["bundle", "import", str(damaged(tmp_path, "flipped byte")), "--check"])
    assert refused.exit_code == 1 and "nothing was installed" in refused.output
    assert runner.invoke(app, ["bundle", "import", str(good(tmp_path))]).exit_code == 1
    assert bundle_install.main([str(good(tmp_path)), "--check"]) == 0  # the bundle's own install.py
    assert bundle_install.main([str(damaged(tmp_path, "extra file")), "--into", str(tmp_path / "x")]) == 1
