"""Which collections a caller may use. A key scoped to collections sees only those; the same
answer is given whether another collection exists or not, so nothing can be inferred."""

from __future__ import annotations

import re

from sutazai.lib.errors import Forbidden, ValidationFailed
from sutazai.lib.security import Principal

DEFAULT_COLLECTION = "default"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_name(collection: str) -> str:
    if not _NAME.match(collection):
        raise ValidationFailed("collection names are 1-63 lower-case letters, digits, '-' or '_'")
    return collection


def may_use(principal: Principal, collection: str) -> bool:
    return not principal.collections or collection in principal.collections


def require(principal: Principal, collection: str | None) -> str:
    name = check_name(collection or default_for(principal))
    if not may_use(principal, name):
        raise Forbidden(f"your credential may not use collection {name!r}")
    return name


def default_for(principal: Principal) -> str:
    return principal.collections[0] if principal.collections else DEFAULT_COLLECTION
