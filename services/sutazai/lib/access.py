"""Who may use which collection: the caller (a Principal), its role, and the one collection
policy every service applies. A credential scoped to collections sees only those, and gets the
same answer whether another collection exists or not, so nothing can be inferred."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator

from sutazai.lib.errors import Forbidden, ValidationFailed

DEFAULT_COLLECTION = "default"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
NAME_RULE = "collection names are 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit"


def _valid_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"{NAME_RULE} (got {value[:80]!r})")
    return value


CollectionName = Annotated[str, AfterValidator(_valid_name)]
"""A collection name in a request body: refused with a 422 that states the rule."""


def check_collection_name(value: str) -> str:
    """`value` if it is a valid collection name, else ValidationFailed stating the rule."""
    try:
        return _valid_name(value)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc


class Role(StrEnum):
    admin = "admin"
    user = "user"
    service = "service"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the subject, its role, the credential that proved it, and the
    collections it is limited to (empty: every collection)."""

    subject: str
    role: Role
    credential: str  # "api_key" or "token"
    key_id: str | None = None
    collections: tuple[str, ...] = field(default=())
    token_id: str | None = None  # a bearer token's id (its `jti`), so that it can be revoked
    expires_at: int | None = None  # a bearer token's expiry, seconds since the epoch

    def may_use(self, collection: str) -> bool:
        return not self.collections or collection in self.collections

    @property
    def unrestricted(self) -> bool:
        """Limited to no collection: every collection, and the platform's own settings."""
        return not self.collections

    def covers(self, collections: list[str] | tuple[str, ...] | None) -> bool:
        """Whether everything scoped to `collections` lies within this caller's scope. Something
        scoped to every collection (empty or None) is covered only by an unrestricted caller."""
        if self.unrestricted:
            return True
        return bool(collections) and set(collections or ()) <= set(self.collections)

    def administers(self, collections: list[str] | tuple[str, ...] | None) -> bool:
        """An admin whose scope covers `collections` (an unrestricted admin covers everything)."""
        return self.role is Role.admin and self.covers(collections)

    @property
    def default_collection(self) -> str:
        """The one default rule: a scoped credential's first collection, else `default`."""
        return self.collections[0] if self.collections else DEFAULT_COLLECTION

    def collection(self, requested: str | None) -> str:
        """The collection a request works on: the one named (validated, and allowed for this
        caller) or the caller's default. Raises ValidationFailed or Forbidden."""
        name = check_collection_name(requested or self.default_collection)
        if not self.may_use(name):
            raise Forbidden(f"your credential may not use collection {name!r}")
        return name

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject, "role": self.role.value, "credential": self.credential,
            "key_id": self.key_id, "collections": list(self.collections),
        }
