"""A watched folder or a mounted share: every file under it whose suffix is a supported document
type (or matches the connector's patterns), versioned by modification time and size. The folder
must lie inside one of the roots the operator allowed (SUTAZAI_CONNECTOR_ROOTS); a symbolic link
that leads outside them, or back into a folder it is inside (a loop), is an error for that entry
and the rest of the folder is synced."""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from sutazai.knowledge.connectors.base import (
    ConfigInvalid,
    ItemError,
    ItemRef,
    Listing,
    Piece,
    Skipped,
    SourceUnavailable,
)
from sutazai.lib.contracts.knowledge import MEDIA_TYPES


class FolderConfig(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="the folder to sync (absolute, inside an allowed "
                                                                 "root)")
    patterns: list[str] = Field(default_factory=list, max_length=50,
                                description="file name patterns to sync ('*.md'); default: every supported type")
    recursive: bool = True


def inside(path: Path, roots: Sequence[str]) -> bool:
    return any(path == Path(r).resolve() or Path(r).resolve() in path.parents for r in roots)


def allowed_folder(path: str, roots: Sequence[str], *, what: str = "folder") -> Path:
    """The folder, resolved, when it lies inside an allowed root; ConfigInvalid saying why not."""
    if not roots:
        raise ConfigInvalid(f"no {what} may be synced: the operator has allowed no folders "
                            "(set SUTAZAI_CONNECTOR_ROOTS to the folders connectors may read)")
    if not os.path.isabs(path):
        raise ConfigInvalid(f"the {what} must be an absolute path, not {path!r}")
    resolved = Path(path).resolve()
    if not inside(resolved, roots):
        raise ConfigInvalid(f"{path} is outside the folders connectors may read ({', '.join(roots)}); "
                            "ask the operator to add it to SUTAZAI_CONNECTOR_ROOTS")
    return resolved


class FolderSource:
    def __init__(self, config: FolderConfig, *, roots: Sequence[str], max_bytes: int) -> None:
        self._root = allowed_folder(config.path, roots)
        self._roots, self._max_bytes = roots, max_bytes
        self._patterns, self._recursive = config.patterns, config.recursive

    def _wanted(self, name: str) -> bool:
        if self._patterns:
            return any(fnmatch.fnmatch(name, p) for p in self._patterns)
        return Path(name).suffix.lower() in MEDIA_TYPES

    def listing(self) -> Listing:
        if not self._root.is_dir():
            raise SourceUnavailable(f"the folder {self._root} does not exist or is not a folder (is the share "
                                    "mounted?)")
        out = Listing()
        self._walk(self._root, (self._root,), out)
        out.items.sort(key=lambda i: i.key)
        return out

    def _walk(self, folder: Path, ancestors: tuple[Path, ...], out: Listing) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            out.errors.append(ItemError(self._key(folder), f"cannot read this folder: {exc.strerror}"))
            out.complete = False
            return
        for entry in entries:
            key = self._key(Path(entry.path))
            try:
                real = Path(entry.path).resolve(strict=True)
            except (OSError, RuntimeError):
                out.errors.append(ItemError(key, "a symbolic link that leads nowhere (or round in a loop)"))
                continue
            if entry.is_symlink() and not inside(real, self._roots):
                out.errors.append(ItemError(key, f"a symbolic link to {real}, outside the folders connectors "
                                                 "may read: skipped"))
                continue
            if real.is_dir():
                if real in ancestors:
                    out.errors.append(ItemError(key, f"a symbolic link loop: it leads back to {real}, a folder "
                                                     "it is inside; skipped"))
                elif self._recursive:
                    self._walk(Path(entry.path), (*ancestors, real), out)
                continue
            if not real.is_file() or not self._wanted(entry.name):
                continue
            stat = real.stat()
            out.items.append(ItemRef(key=key, version=f"{stat.st_mtime_ns}:{stat.st_size}"))

    def _key(self, path: Path) -> str:
        return path.relative_to(self._root).as_posix() if path != self._root else "."

    def fetch(self, ref: ItemRef) -> Iterator[Piece | Skipped]:
        path = self._root / ref.key
        try:
            real = path.resolve(strict=True)
            if not inside(real, self._roots):
                raise ItemError(ref.key, "it now leads outside the folders connectors may read")
            size = real.stat().st_size
            if size > self._max_bytes:
                raise ItemError(ref.key, f"the file is {size:,} bytes; the limit is {self._max_bytes:,} "
                                         "(SUTAZAI_MAX_DOCUMENT_BYTES)")
            content = real.read_bytes()
            modified = dt.datetime.fromtimestamp(real.stat().st_mtime, tz=dt.UTC).date()
        except OSError as exc:
            raise ItemError(ref.key, f"cannot read the file: {exc.strerror}") from exc
        yield Piece(name="", content=content, filename=path.name, date=modified)

    def close(self) -> None:
        return None
