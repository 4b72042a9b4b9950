"""A Git repository: the files at one branch (a file is an item, its blob id its version) and the
history of changes (one document listing the branch's recent commits, their authors, dates,
messages and the files each changed). The repository is fetched with dulwich (pure Python, no git
binary) into a local bare mirror kept in SUTAZAI_CONNECTOR_CACHE_DIR, so a sync downloads only new
objects. A repository on disk must lie inside the allowed roots; over the network, http(s) only,
with the connector's credential as the password (a token) when one is set."""

from __future__ import annotations

import datetime as dt
import hashlib
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dulwich.objects import Blob, Commit, ObjectID
from pydantic import BaseModel, Field

from sutazai.knowledge.connectors.base import (
    ConfigInvalid,
    ItemError,
    ItemRef,
    Listing,
    Piece,
    Skipped,
    SourceUnavailable,
    allowed_host,
)
from sutazai.knowledge.connectors.folder import allowed_folder
from sutazai.lib.contracts.knowledge import MEDIA_TYPES

if TYPE_CHECKING:
    from dulwich.repo import Repo

HISTORY = "~history"
HISTORY_COMMITS = 200


class GitConfig(BaseModel):
    url: str = Field(min_length=1, max_length=2048, description="a repository on disk (inside an allowed root) "
                                                                "or an http(s) URL on the internal network")
    branch: str = Field(default="main", min_length=1, max_length=255, pattern=r"^[\w./-]+$")
    patterns: list[str] = Field(default_factory=list, max_length=50,
                                description="file name patterns to sync; default: every supported type")
    history: bool = Field(default=True, description="also sync the branch's history of changes as a document")
    username: str | None = Field(default=None, max_length=255, description="for http(s); the password or token "
                                                                           "is the connector's secret")


def checked_url(config: GitConfig, roots: Sequence[str], hosts: Sequence[str]) -> str:
    parts = urlsplit(config.url)
    if parts.scheme in ("http", "https"):
        allowed_host(parts.hostname, hosts, what="repository URL")
        return config.url
    scheme = parts.scheme
    if scheme in ("", "file"):
        path = config.url.removeprefix("file://")
        return str(allowed_folder(path, roots, what="repository"))
    raise ConfigInvalid(f"a Git repository is read from a folder or over http(s), not {scheme}://")


class GitSource:
    def __init__(self, config: GitConfig, *, roots: Sequence[str], hosts: Sequence[str], cache: Path,
                 secret: str | None, max_bytes: int) -> None:
        self._url = checked_url(config, roots, hosts)
        self._config, self._secret, self._max_bytes = config, secret, max_bytes
        self._mirror = cache / hashlib.sha256(self._url.encode()).hexdigest()[:24]
        self._repo: Repo | None = None
        self._head: ObjectID | None = None

    def _fetch(self) -> None:
        from dulwich.client import get_transport_and_path
        from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
        from dulwich.refs import Ref
        from dulwich.repo import Repo

        if self._mirror.exists():
            repo = Repo(str(self._mirror))
        else:
            self._mirror.mkdir(parents=True, mode=0o700)
            repo = Repo.init_bare(str(self._mirror))
        self._repo = repo  # closed by close(), whatever happens next
        try:
            if self._secret:
                client, path = get_transport_and_path(self._url, username=self._config.username,
                                                      password=self._secret)
            else:
                client, path = get_transport_and_path(self._url)
            result = client.fetch(path, repo)
        except (GitProtocolError, HangupException, NotGitRepository, OSError) as exc:
            raise SourceUnavailable(f"cannot fetch the repository {self._url}: {exc}") from exc
        wanted = Ref(f"refs/heads/{self._config.branch}".encode())
        head = result.refs.get(wanted)
        if head is None:
            branches = sorted(r.decode().removeprefix("refs/heads/") for r in result.refs
                              if r.startswith(b"refs/heads/"))
            raise SourceUnavailable(f"the repository has no branch {self._config.branch!r} "
                                    f"(it has: {', '.join(branches) or 'none'})")
        self._head = head
        repo.refs[wanted] = head

    def _commit(self) -> Commit:
        assert self._repo is not None and self._head is not None  # noqa: S101 - set by _fetch
        commit = self._repo[self._head]
        if not isinstance(commit, Commit):
            raise SourceUnavailable(f"the branch {self._config.branch!r} does not point at a commit")
        return commit

    def _wanted(self, path: str) -> bool:
        import fnmatch

        name = path.rsplit("/", 1)[-1]
        if self._config.patterns:
            return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in self._config.patterns)
        return Path(name).suffix.lower() in MEDIA_TYPES

    def listing(self) -> Listing:
        self._fetch()
        assert self._repo is not None and self._head is not None  # noqa: S101 - set by _fetch
        commit = self._commit()
        out = Listing()
        for entry in self._repo.object_store.iter_tree_contents(commit.tree):
            path = entry.path.decode("utf-8", "replace")
            if not stat.S_ISREG(entry.mode) or not self._wanted(path):
                continue  # submodules, symbolic links and unsupported types
            out.items.append(ItemRef(key=path, version=entry.sha.decode()))
        if self._config.history:
            out.items.append(ItemRef(key=HISTORY, version=self._head.decode()))
        out.items.sort(key=lambda i: i.key)
        return out

    def fetch(self, ref: ItemRef) -> Iterator[Piece | Skipped]:
        assert self._repo is not None and self._head is not None  # noqa: S101 - listing came first
        commit = self._commit()
        when = dt.datetime.fromtimestamp(commit.commit_time, tz=dt.UTC).date()
        if ref.key == HISTORY:
            yield Piece(name="", content=self._history().encode(), filename="history.md",
                        title=f"History of {self._config.branch} in {self._url}", media_type="text/markdown",
                        date=when, tags=("git-history",))
            return
        blob = self._repo[ObjectID(ref.version.encode())]
        if not isinstance(blob, Blob):
            raise ItemError(ref.key, "not a file in the repository")
        data = blob.data
        if len(data) > self._max_bytes:
            raise ItemError(ref.key, f"the file is {len(data):,} bytes; the limit is {self._max_bytes:,}")
        yield Piece(name="", content=data, filename=ref.key.rsplit("/", 1)[-1], title=ref.key, date=when,
                    tags=(f"branch:{self._config.branch}",))

    def _history(self) -> str:
        assert self._repo is not None and self._head is not None  # noqa: S101
        lines = [f"# History of {self._config.branch}", "",
                 f"The most recent {HISTORY_COMMITS} commits of branch {self._config.branch} of {self._url}, "
                 "newest first.", ""]
        for entry in self._repo.get_walker(include=[self._head], max_entries=HISTORY_COMMITS):
            c = entry.commit
            when = dt.datetime.fromtimestamp(c.commit_time, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            message = c.message.decode("utf-8", "replace").strip()
            subject, _, body = message.partition("\n")
            changed = []
            for found in entry.changes():
                change = (found[0] if found else None) if isinstance(found, list) else found  # a merge: per parent
                if change is None:
                    continue
                side = change.new if change.new is not None and change.new.path else change.old
                path = (side.path if side is not None and side.path else b"").decode("utf-8", "replace")
                changed.append(f"{change.type} {path}")
            lines += [f"## {subject}", "",
                      f"Commit {c.id.decode()[:12]} by {c.author.decode('utf-8', 'replace')} on {when}.", ""]
            if body.strip():
                lines += [body.strip(), ""]
            if changed:
                lines += ["Files changed: " + "; ".join(changed[:50]) + ".", ""]
        return "\n".join(lines)

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
