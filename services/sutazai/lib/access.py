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


EVERY_COLLECTION = "*"
"""The collection name in a grant that means every collection (and the platform's own settings)."""
_RANK = {Role.user: 1, Role.service: 2, Role.admin: 3}


def rank(role: Role) -> int:
    """user < service < admin: a higher role may do everything a lower one may."""
    return _RANK[role]


def narrower(a: Role, b: Role) -> Role:
    return a if rank(a) <= rank(b) else b


@dataclass(frozen=True)
class Principal:
    """Who is calling: the subject, the credential that proved it, and its role on each
    collection. A credential of one role on a list of collections (an API key without an
    owner) gives `role` and `collections` (empty: every collection); a user, or a key that
    belongs to one, gives `grants`: collection (or `*`) -> role, which may differ per collection.
    `role` is then the highest role held and `collections` the collections named."""

    subject: str
    role: Role
    credential: str  # "api_key" or "token"
    key_id: str | None = None
    collections: tuple[str, ...] = field(default=())
    token_id: str | None = None  # a bearer token's id (its `jti`), so that it can be revoked
    expires_at: int | None = None  # a bearer token's expiry, seconds since the epoch
    grants: tuple[tuple[str, Role], ...] | None = None
    user_id: str | None = None  # the user this credential belongs to, if any
    issued_at: float | None = None  # a bearer token's issue time, to the microsecond

    @classmethod
    def of_grants(cls, *, subject: str, credential: str, grants: dict[str, Role], **more: Any) -> Principal:
        """A principal whose roles differ per collection (`*` for every collection)."""
        held = tuple(sorted(grants.items()))
        top = max((r for _, r in held), key=rank, default=Role.user)
        named = tuple(c for c, _ in held if c != EVERY_COLLECTION)
        return cls(subject=subject, role=top, credential=credential, collections=named, grants=held, **more)

    @property
    def roles(self) -> dict[str, Role]:
        """Collection (or `*`) -> role held there."""
        if self.grants is not None:
            return dict(self.grants)
        if not self.collections:
            return {EVERY_COLLECTION: self.role}
        return dict.fromkeys(self.collections, self.role)

    def role_in(self, collection: str) -> Role | None:
        """The role this caller holds on `collection` (through a grant on it or on every
        collection, the higher of the two), or None."""
        roles = self.roles
        held = [r for r in (roles.get(collection), roles.get(EVERY_COLLECTION)) if r is not None]
        return max(held, key=rank) if held else None

    def may_use(self, collection: str) -> bool:
        return self.role_in(collection) is not None

    @property
    def unrestricted(self) -> bool:
        """May use every collection."""
        return EVERY_COLLECTION in self.roles

    @property
    def usable(self) -> list[str] | None:
        """The collections this caller may use; None: every collection."""
        return None if self.unrestricted else sorted(self.roles)

    def holds(self, role: Role, collections: list[str] | tuple[str, ...] | None) -> bool:
        """Whether this caller holds at least `role` on every one of `collections`; on every
        collection (`*`) when `collections` is empty or None."""
        names = list(collections or ()) or [EVERY_COLLECTION]
        return all((held := self.role_in(c)) is not None and rank(held) >= rank(role) for c in names)

    def covers(self, collections: list[str] | tuple[str, ...] | None) -> bool:
        """Whether everything scoped to `collections` lies within this caller's scope. Something
        scoped to every collection (empty or None) is covered only by an unrestricted caller."""
        return self.holds(Role.user, collections)

    def administers(self, collections: list[str] | tuple[str, ...] | None) -> bool:
        """An admin of every one of `collections` (of the whole platform when empty or None)."""
        return self.holds(Role.admin, collections)

    @property
    def administered(self) -> list[str] | None:
        """The collections this caller administers; None: every collection."""
        if self.administers(None):
            return None
        return sorted(c for c, r in self.roles.items() if r is Role.admin)

    @property
    def default_collection(self) -> str:
        """The one default rule: a scoped credential's first collection, else `default`."""
        usable = self.usable
        return usable[0] if usable else DEFAULT_COLLECTION

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
            "key_id": self.key_id, "collections": list(self.collections), "user_id": self.user_id,
            "grants": {c: r.value for c, r in sorted(self.roles.items())},
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any], **more: Any) -> Principal:
        """The inverse of `to_dict` (as whoami answers), plus token fields in `more`."""
        base: dict[str, Any] = {"subject": str(body["subject"]), "credential": str(body.get("credential", "api_key")),
                                "key_id": body.get("key_id"), "user_id": body.get("user_id"), **more}
        if isinstance(body.get("grants"), dict):
            return cls.of_grants(grants={str(c): Role(r) for c, r in body["grants"].items()}, **base)
        return cls(role=Role(body["role"]), collections=tuple(body.get("collections") or ()), **base)
