"""One collection policy for every service: a validated name, who may use it, one default."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from sutazai.lib.access import DEFAULT_COLLECTION, CollectionName, Principal, Role, check_collection_name
from sutazai.lib.errors import Forbidden, ValidationFailed

ANYONE = Principal("key:a", Role.user, "api_key", "a")
SCOPED = Principal("key:s", Role.admin, "api_key", "s", ("hr", "legal"))


def test_the_default_is_the_scoped_credentials_first_collection_else_default() -> None:
    assert ANYONE.collection(None) == DEFAULT_COLLECTION == "default"
    assert SCOPED.collection(None) == "hr" and SCOPED.collection("legal") == "legal"


def test_a_scoped_credential_may_use_only_its_collections_whatever_its_role() -> None:
    assert SCOPED.may_use("hr") and not SCOPED.may_use("finance") and ANYONE.may_use("finance")
    with pytest.raises(Forbidden, match="may not use collection 'finance'"):
        SCOPED.collection("finance")


@pytest.mark.parametrize("name", ["Bad Name", "", "-x", "a" * 64, "x\u0000y", "../etc", "ÄRGER"])
def test_bad_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(ValidationFailed, match="collection names are 1-63"):
        check_collection_name(name)
    if name:
        with pytest.raises(ValidationFailed):
            ANYONE.collection(name)


def test_request_bodies_use_the_same_rule() -> None:
    class Body(BaseModel):
        collection: CollectionName | None = None

    assert Body(collection="firms-2026").collection == "firms-2026" and Body().collection is None
    with pytest.raises(ValidationError, match="collection names are 1-63"):
        Body(collection="Firms")
