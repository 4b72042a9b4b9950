"""What every connector source gives the sync: a listing of items with a version each (what
changes when the item changes), and, for a new or changed item, its documents. A source runs
blocking I/O (files, Git objects, IMAP, HTTP) and is called from a thread."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sutazai.lib.errors import ValidationFailed


class ItemError(Exception):
    """One item could not be read (a file outside the allowed roots, a redirect off the host, an
    attachment over the limit): recorded with the reason; the rest of the sync goes on."""

    def __init__(self, item: str, reason: str) -> None:
        super().__init__(f"{item}: {reason}")
        self.item, self.reason = item, reason


class SourceUnavailable(Exception):
    """The whole source could not be read (the folder is gone, the server refuses the login): the run
    fails with this reason and nothing synced before is removed."""


class ConfigInvalid(ValidationFailed):
    """A connector's configuration says something that cannot work; the message says what to fix."""


def allowed_host(host: str | None, hosts: Sequence[str], *, what: str) -> str:
    """`host` when the operator allowed connectors to reach it (SUTAZAI_CONNECTOR_HOSTS), else
    ConfigInvalid: an admin of a collection cannot point a connector at any address they like."""
    if not host:
        raise ConfigInvalid(f"the {what} names no host")
    if host.lower() not in {h.lower() for h in hosts}:
        allowed = ", ".join(hosts) or "none"
        raise ConfigInvalid(f"connectors may not reach {host} (allowed hosts: {allowed}); ask the operator to add it "
                            "to SUTAZAI_CONNECTOR_HOSTS")
    return host


@dataclass(frozen=True)
class ItemRef:
    key: str
    version: str


@dataclass(frozen=True)
class Piece:
    """One document an item gives: a file, a page, a message or one of its attachments."""

    name: str  # appended to the connector's source name: unique within the item
    content: bytes
    filename: str
    title: str | None = None
    media_type: str | None = None
    date: dt.date | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A part of an item that was left out (an attachment over the limit): recorded as an error of
    the run, while the rest of the item is synced."""

    name: str
    reason: str


@dataclass
class Listing:
    """The items a source holds now. `complete` is false when the listing stopped early (a page
    limit, an unreadable directory): items not listed are then not taken as deleted."""

    items: list[ItemRef] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    complete: bool = True


class Source(Protocol):
    def listing(self) -> Listing: ...

    def fetch(self, ref: ItemRef) -> Iterator[Piece | Skipped]:
        """The item's documents (and the parts left out); raises ItemError for this item alone."""
        ...

    def close(self) -> None: ...
