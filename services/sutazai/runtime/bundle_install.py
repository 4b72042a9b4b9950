"""Installing SutazAI on an offline host from an air-gap bundle (`sutazai bundle export` writes it).

This module uses the standard library only: the bundle carries a copy of it as `install.py`, so a
host with nothing but Python can run

    tar -xf sutazai-bundle-0.1.0.tar install.py
    python3 install.py sutazai-bundle-0.1.0.tar --into /opt/sutazai

and `sutazai bundle import` runs the same code where SutazAI is already installed.

Every member of the archive is hashed against the manifest before anything is installed: unknown,
missing, duplicated, linked or out-of-tree members, a size or sha256 that differs, or a manifest
whose own digest is not the one the exporting host printed (`--expect`) stop the import with
nothing installed. Then, with every package index and proxy pointed at a closed loopback port,
the project's own installer (scripts/bootstrap.sh) builds the virtualenv from the bundle's wheels
only, the gRPC code is generated, and each model is installed from its file against the digest
the model manifest names.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess  # noqa: S404 - bash, python and sutazai, with fixed argument lists
import sys
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

FORMAT = "sutazai-bundle/1"
MANIFEST = "manifest.json"
INSTALLER = "install.py"
SOURCE, WHEELS, MODELS = "source/", "wheels/", "models/"
CONTAINER_IMAGES = "container-images/"  # `sutazai images save`: images.tar and images.json (each ID)
BLOCK = 1 << 20
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, so any attempt to fetch fails at once
SAFE_NAME = re.compile(r"^[A-Za-z0-9._+@=-][A-Za-z0-9._+@=/ -]*$")
Progress = Callable[[str], None]


class BundleError(Exception):
    """A bundle that cannot be trusted or installed; the message says what to do."""


@dataclass(frozen=True)
class Member:
    path: str
    sha256: str
    size: int
    executable: bool = False


@dataclass(frozen=True)
class Verified:
    manifest: dict[str, Any]
    manifest_sha256: str
    members: int
    size: int


def safe_path(name: str) -> PurePosixPath:
    """A member name as a relative path that stays inside the folder it is written to."""
    path = PurePosixPath(name)
    if (not name or not SAFE_NAME.match(name) or path.is_absolute() or any(p in ("..", ".", "") for p in path.parts)
            or name.endswith("/") or "\\" in name):
        raise BundleError(f"the bundle names a file {name!r} outside its own tree; it was not written by "
                          "`sutazai bundle export` or it was altered, so nothing was installed")
    return path


def _members(manifest: Mapping[str, Any]) -> dict[str, Member]:
    if manifest.get("format") != FORMAT:
        raise BundleError(f"this is not a {FORMAT} bundle (format {manifest.get('format')!r}); export it again "
                          "with this version's `sutazai bundle export`")
    raw = manifest.get("members")
    if not isinstance(raw, dict) or not raw:
        raise BundleError("the bundle's manifest lists no files; it is damaged")
    found: dict[str, Member] = {}
    for name, entry in raw.items():
        safe_path(name)
        if name in (MANIFEST,) or not isinstance(entry, dict):
            raise BundleError(f"the bundle's manifest entry {name!r} is malformed; it is damaged")
        digest, size = entry.get("sha256"), entry.get("size")
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest) and isinstance(size, int)
                and size >= 0):
            raise BundleError(f"the bundle's manifest entry {name!r} has no valid sha256 and size; it is damaged")
        found[name] = Member(name, digest, size, bool(entry.get("executable", False)))
    return found


def models_of(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The manifest's models, each a name the model manifest could hold and a file the bundle
    carries (checked before anything is run with them)."""
    raw = manifest.get("models", [])
    members = manifest.get("members") or {}
    if not isinstance(raw, list):
        raise BundleError("the bundle's manifest lists its models wrongly; it is damaged")
    for model in raw:
        name, file = (model.get("name"), model.get("file")) if isinstance(model, dict) else (None, None)
        if not (isinstance(name, str) and re.fullmatch(r"[a-z0-9][a-z0-9._:-]{0,63}", name)
                and isinstance(file, str) and f"{MODELS}{file}" in members and isinstance(model.get("size"), int)):
            raise BundleError(f"the bundle's manifest names a model it does not carry properly ({model!r}); it is "
                              "damaged or was altered, so nothing was installed")
    return raw


def _copy(source: IO[bytes], target: IO[bytes] | None, expected: Member) -> str:
    digest, seen = hashlib.sha256(), 0
    while block := source.read(BLOCK):
        seen += len(block)
        if seen > expected.size:
            break
        digest.update(block)
        if target is not None:
            target.write(block)
    if seen != expected.size:
        raise BundleError(f"{expected.path} in the bundle is not the size the manifest names ({expected.size:,} "
                          "bytes); the bundle is damaged or was altered, so nothing was installed")
    return digest.hexdigest()


def unpack(archive: Path, into: Path | None, *, expect: str | None = None,
           progress: Progress | None = None) -> Verified:
    """Read the whole archive once, hashing every member against the manifest; with `into`, write
    the members there as they are read (a private folder the caller discards on failure). Raises
    BundleError on the first member that does not match, and when a listed member is missing."""
    say = progress or (lambda _m: None)
    try:
        tar = tarfile.open(archive, mode="r|*")  # noqa: SIM115 - closed below; a stream, read once
    except (OSError, tarfile.TarError) as exc:
        raise BundleError(f"{archive} is not a readable bundle ({exc}); check the path, or copy it again") from exc
    with tar:
        try:
            first = tar.next()
        except tarfile.TarError as exc:
            raise BundleError(f"{archive} is not a bundle ({exc})") from exc
        if first is None or first.name != MANIFEST or not first.isfile() or first.size > 64 * 1024 * 1024:
            raise BundleError(f"{archive} does not start with a manifest; it was not written by "
                              "`sutazai bundle export`")
        handle = tar.extractfile(first)
        assert handle is not None  # noqa: S101 - a regular file always has a stream
        raw = handle.read()
        manifest_sha256 = hashlib.sha256(raw).hexdigest()
        if expect is not None and manifest_sha256 != expect.strip().lower():
            raise BundleError(f"the bundle's manifest has sha256 {manifest_sha256}, not the {expect} you expected; "
                              "it is not the bundle that was exported (or it was altered), so nothing was installed")
        try:
            manifest = json.loads(raw)
        except ValueError as exc:
            raise BundleError(f"the bundle's manifest is not JSON ({exc}); the bundle is damaged") from exc
        if not isinstance(manifest, dict):
            raise BundleError("the bundle's manifest is not a JSON object; the bundle is damaged")
        members = _members(manifest)
        total = sum(m.size for m in members.values())
        say(f"checking {len(members):,} files ({total / 1e6:,.0f} MB) against the manifest")
        seen: set[str] = set()
        done, shown = 0, -1
        while True:
            try:
                info = tar.next()
            except tarfile.TarError as exc:
                raise BundleError(f"the bundle is truncated or damaged after {len(seen):,} files ({exc}); copy it "
                                  "again") from exc
            if info is None:
                break
            name = info.name
            expected = members.get(name)
            if expected is None:
                safe_path(name)
                raise BundleError(f"the bundle holds {name!r}, which its manifest does not list; it was altered, "
                                  "so nothing was installed")
            if name in seen:
                raise BundleError(f"the bundle holds {name!r} twice; it was altered, so nothing was installed")
            if not info.isfile():
                raise BundleError(f"{name!r} in the bundle is a link or a special file, not a plain file; "
                                  "nothing was installed")
            seen.add(name)
            stream = tar.extractfile(info)
            assert stream is not None  # noqa: S101 - checked isfile above
            try:
                if into is None:
                    digest = _copy(stream, None, expected)
                else:
                    target = into / safe_path(name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with target.open("xb") as out:
                        digest = _copy(stream, out, expected)
                    target.chmod(0o755 if expected.executable else 0o644)
            except tarfile.TarError as exc:
                raise BundleError(f"the bundle is truncated or damaged in {name} ({exc}); copy it again") from exc
            if digest != expected.sha256:
                raise BundleError(f"{name} in the bundle has sha256 {digest}, but the manifest names "
                                  f"{expected.sha256}; the bundle is damaged or was altered, so nothing was installed")
            done += expected.size
            percent = int(100 * done / total) if total else 100
            if percent // 10 != shown:
                shown = percent // 10
                say(f"checked {percent}%")
        missing = sorted(set(members) - seen)
        if missing:
            raise BundleError(f"the bundle lacks {len(missing)} file(s) its manifest lists (first: {missing[0]}); it "
                              "is truncated, copy it again")
    return Verified(manifest, manifest_sha256, len(members), total)


def offline_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment installers run in: no pip or uv settings from the host, every index and
    proxy at a closed loopback port, so whatever a tool tries to fetch fails instead of leaving."""
    env = {k: v for k, v in (base if base is not None else os.environ).items()
           if not k.upper().startswith(("PIP_", "UV_")) and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update({
        "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_INDEX_URL": f"{CLOSED}/simple",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "UV_NO_CONFIG": "1", "UV_OFFLINE": "1", "UV_INDEX_URL": f"{CLOSED}/simple",
        "HTTP_PROXY": CLOSED, "HTTPS_PROXY": CLOSED, "ALL_PROXY": CLOSED,
        "http_proxy": CLOSED, "https_proxy": CLOSED, "all_proxy": CLOSED, "NO_PROXY": "", "no_proxy": "",
    })
    return env


def _python_version(python: str) -> str:
    try:
        done = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],  # noqa: S603
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BundleError(f"cannot run {python} ({exc}); name another Python with --python") from exc
    return done.stdout.strip()


def _run(command: list[str], *, cwd: Path, env: Mapping[str, str], what: str) -> None:
    done = subprocess.run(command, cwd=cwd, env=dict(env), capture_output=True, text=True,  # noqa: S603
                          check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise BundleError(f"{what} failed (exit {done.returncode}):\n{tail}")


def load_images(folder: Path, expected: Mapping[str, str], *, progress: Progress | None = None) -> None:
    """`docker load` of the bundle's images, then each image's ID checked against the manifest's
    (the manifest's own digest is the one the exporting host printed): a missing image or a
    different ID is refused by name."""
    say = progress or (lambda _m: None)
    docker = shutil.which("docker")
    if docker is None:
        raise BundleError("the bundle carries container images, and the docker command is not installed; install "
                          "Docker, or import without --load-images")
    say(f"loading {len(expected)} container images (docker load)")
    _run([docker, "load", "-i", str(folder / "images.tar")], cwd=folder, env=dict(os.environ), what="docker load")
    for reference, want in expected.items():
        found = subprocess.run([docker, "image", "inspect", "--format", "{{.Id}}", reference],  # noqa: S603
                               capture_output=True, text=True, check=False)
        have = found.stdout.strip()
        if found.returncode != 0 or not have:
            raise BundleError(f"the image {reference} is missing from the bundle's images.tar; export it again")
        if have != want:
            raise BundleError(f"the image {reference} loaded as {have}, but the manifest names {want}; do not run it")
    say("every container image loaded with the ID the manifest names")


def install(archive: Path, into: Path, *, python: str | None = None, data_dir: Path | None = None,
            expect: str | None = None, progress: Progress | None = None,
            environ: Mapping[str, str] | None = None, images: bool = False) -> dict[str, Any]:
    """Verify the bundle, then install it into the new folder `into`: the source tree in
    `into/src` with its virtualenv in `into/src/.venv`, the wheels in `into/wheels` (for later
    offline reinstalls), the models in the data directory's model store. Returns the manifest."""
    say = progress or (lambda _m: None)
    into = into.resolve()
    if into.exists() and any(into.iterdir()):
        raise BundleError(f"{into} is not empty; import into a new folder (an existing install is never "
                          "overwritten)")
    interpreter = python or sys.executable
    into.mkdir(mode=0o755, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=into))
    try:
        verified = unpack(archive, staging, expect=expect, progress=say)
        manifest = verified.manifest
        models = models_of(manifest)
        python_entry = manifest.get("python")
        want = str(python_entry.get("version", "")) if isinstance(python_entry, dict) else ""
        have = _python_version(interpreter)
        if want and have != want:
            raise BundleError(f"the bundle's wheels are for Python {want}, and {interpreter} is Python {have}; "
                              f"name a Python {want} with --python, or export a bundle for {have} "
                              f"(`sutazai bundle export --python-version {have}`)")
        say(f"every digest matches (manifest sha256 {verified.manifest_sha256})")
        src, wheels = staging / SOURCE.rstrip("/"), staging / WHEELS.rstrip("/")
        if not (src / "scripts" / "bootstrap.sh").is_file():
            raise BundleError("the bundle holds no source tree (source/scripts/bootstrap.sh); export it again")
        carried = manifest.get("container_images") or {}
        if images and not carried:
            raise BundleError("--load-images: this bundle carries no container images; export it with --with-images")
        os.replace(src, into / "src")
        os.replace(wheels, into / "wheels")
        if carried:
            os.replace(staging / CONTAINER_IMAGES.rstrip("/"), into / CONTAINER_IMAGES.rstrip("/"))
            if images:
                load_images(into / CONTAINER_IMAGES.rstrip("/"), carried, progress=say)
        (into / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        src, wheels = into / "src", into / "wheels"
        env = offline_environment(environ)
        env.update({"PYTHON": interpreter, "SUTAZAI_OFFLINE_WHEELS": str(wheels), "SUTAZAI_VENV": ".venv"})
        say("installing the locked dependencies from the bundle's wheels (no package index is reachable)")
        _run(["bash", "scripts/bootstrap.sh"], cwd=src, env=env, what="installing the wheels")
        venv_python = src / ".venv" / "bin" / "python"
        _run([str(venv_python), "-m", "sutazai.grpc_api.codegen"], cwd=src, env=env,
             what="generating the gRPC code")
        if data_dir is not None:
            env["SUTAZAI_DATA_DIR"] = str(data_dir)
        for model in models:
            say(f"installing the model {model['name']} ({model['size'] / 1e6:,.0f} MB)")
            _run([str(src / ".venv" / "bin" / "sutazai"), "models", "install", str(model["name"]),
                  "--file", str(staging / safe_path(f"{MODELS}{model['file']}"))],
                 cwd=src, env=env, what=f"installing the model {model['name']}")
        return manifest
    except BaseException:
        for leftover in (into / "src", into / "wheels", into / CONTAINER_IMAGES.rstrip("/"), into / MANIFEST):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def next_steps(manifest: Mapping[str, Any], into: Path, data_dir: Path | None) -> str:
    """What to run after an install: start the stack, with the model the bundle carries."""
    src = into.resolve() / "src"
    settings = []
    if data_dir is not None:
        settings.append(f"SUTAZAI_DATA_DIR={data_dir.resolve()}")
    carried = [str(m["name"]) for m in manifest.get("models", [])]
    if carried and manifest.get("default_model") not in carried:
        settings.append(f"SUTAZAI_MODEL={carried[0]}")
    start = " ".join([*settings, "make up"])
    models = ", ".join(carried) or "no model (install one with `sutazai models install NAME --file`)"
    steps = (f"installed SutazAI {manifest.get('sutazai')} into {src} with {models}; start it with:\n"
             f"  cd {src} && {start}")
    if manifest.get("container_images"):
        steps += (f"\nor, as the production Compose stack (the images are loaded, or load them with `sutazai images "
                  f"load {into.resolve() / 'container-images' / 'images.tar'}`):\n"
                  f"  cd {src} && cp .env.example .env  # fill in every REQUIRED value\n"
                  f"  docker compose up -d --wait")
    return steps


def _say(message: str) -> None:
    print(f"  • {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="install.py", description="Verify a SutazAI air-gap bundle and install it on this host, offline.")
    parser.add_argument("bundle", type=Path, help="the archive `sutazai bundle export` wrote")
    parser.add_argument("--into", type=Path, help="a new folder to install into (the source tree, its virtualenv "
                        "and the wheels go there)")
    parser.add_argument("--python", help="the Python to build the virtualenv with (default: this one)")
    parser.add_argument("--data-dir", type=Path, help="the data directory whose model store gets the models "
                        "(default: SutazAI's: $SUTAZAI_DATA_DIR or ~/.local/share/sutazai)")
    parser.add_argument("--expect", help="the manifest sha256 the exporting host printed; the import stops if "
                        "it differs")
    parser.add_argument("--check", action="store_true", help="only verify every digest; install nothing")
    parser.add_argument("--load-images", action="store_true", help="also `docker load` the container images the "
                        "bundle carries and check each one's ID")
    args = parser.parse_args(argv)
    try:
        if args.check:
            verified = unpack(args.bundle, None, expect=args.expect, progress=_say)
            print(f"{args.bundle}: {verified.members:,} files, {verified.size / 1e6:,.0f} MB, every digest matches; "
                  f"manifest sha256 {verified.manifest_sha256}")
            return 0
        if args.into is None:
            parser.error("name the folder to install into with --into (or use --check)")
        if args.expect is None:
            _say("no --expect given: the files are checked against the bundle's own manifest only; pass the "
                 "manifest sha256 the exporting host printed to check the manifest too")
        manifest = install(args.bundle, args.into, python=args.python, data_dir=args.data_dir,
                           expect=args.expect, progress=_say, images=args.load_images)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(next_steps(manifest, args.into, args.data_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
