"""The audit log as a hash chain: each entry's `hash` is SHA-256 over its canonical form, which
includes the previous entry's hash (`prev_hash`). Editing an entry changes its hash; deleting or
reordering entries breaks the link from the next one. `verify` walks the chain in id order and
reports every break; `head` is the last hash, worth recording outside the database, since the
removal of the newest entries can only be seen against a head recorded earlier."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64
"""The `prev_hash` of the first entry."""


def canonical(entry: Mapping[str, Any], prev_hash: str) -> bytes:
    """The bytes an entry's hash covers: every field, in a fixed order and form."""
    at = entry["at"]
    if isinstance(at, dt.datetime):
        at = at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    body = {
        "id": int(entry["id"]), "at": at, "actor": entry["actor"], "action": entry["action"],
        "target": entry.get("target"), "detail": entry.get("detail") or {}, "request_id": entry.get("request_id"),
        "collections": sorted(entry.get("collections") or []) or None, "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(entry, prev_hash)).hexdigest()


@dataclass
class Verification:
    entries: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head": self.head, "problems": self.problems}


def verify(rows: Iterable[Mapping[str, Any]], *, expected_head: str | None = None) -> Verification:
    """Check the chain of `rows` (in id order). A problem names the entry and what is wrong."""
    result = Verification()
    previous = GENESIS
    for row in rows:
        result.entries += 1
        where = f"entry {row['id']} ({row['action']} by {row['actor']})"
        if row.get("hash") is None:
            result.problems.append(f"{where} has no hash: it was inserted around the audit log's writer")
            previous = GENESIS
            continue
        if row["prev_hash"] != previous:
            result.problems.append(f"{where} does not follow the entry before it: an entry was deleted, "
                                   "inserted or moved just before it")
        if entry_hash(row, row["prev_hash"]) != row["hash"]:
            result.problems.append(f"{where} was edited after it was written (its content no longer "
                                   "matches its hash)")
        previous = row["hash"]
    result.head = previous
    if expected_head is not None and expected_head != previous:
        result.problems.append(f"the newest entry's hash is {previous[:16]}…, not the head recorded earlier "
                               f"({expected_head[:16]}…): entries at the end were removed or replaced")
    return result
