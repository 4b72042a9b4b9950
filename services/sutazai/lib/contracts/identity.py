"""The identity service's contract: its paths, the key models other services exchange with it, and
its events.

`Revocation` is published on the Redis channel REVOCATIONS whenever a credential stops being good
or holds less than before: a sign-out, a key revoked, a password changed or reset, a user
disabled or deleted, a grant withdrawn, a group changed. Every process of every other service
listens and drops what its introspection cache holds for it at once, so a revoked credential is
refused everywhere within the message's travel time instead of within the cache's lifetime
(`introspection_cache_seconds`). Pub/Sub is not durable: when the bus is down the cache's
lifetime is still the bound."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sutazai.lib.access import CollectionName, Principal, Role

PREFIX = "/api/identity/v1"
WHOAMI = f"{PREFIX}/whoami"
KEYS = f"{PREFIX}/keys"
AUDIT = f"{PREFIX}/audit"

REVOCATIONS = "sutazai:identity:revocations"
"""The Redis Pub/Sub channel revocations are published on."""

RevocationReason = Literal["signed_out", "key_revoked", "password_changed", "user_changed", "grant_withdrawn",
                           "group_changed"]


class Revocation(BaseModel):
    """Which cached credentials to forget: those of a subject, a key, a token, or every one."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    reason: RevocationReason
    subject: str | None = Field(default=None, description="every credential of this subject (user:<name>)")
    key_id: str | None = Field(default=None, description="this API key")
    token_id: str | None = Field(default=None, description="this bearer token (its jti)")
    everyone: bool = Field(default=False, description="every cached credential (a group's members changed)")

    def matches(self, principal: Principal) -> bool:
        if self.everyone:
            return True
        return bool((self.subject and principal.subject == self.subject)
                    or (self.key_id and principal.key_id == self.key_id)
                    or (self.token_id and principal.token_id == self.token_id))


class CreateKey(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="what the key is for")
    role: Role = Role.user
    collections: list[CollectionName] = Field(default_factory=list, max_length=100,
                                   description="collections the key may use; empty means all")
    owner: str | None = Field(default=None, max_length=128,
                              description="the user the key belongs to (default: the calling user, if any); "
                                          "the key never grants more than its owner holds")


class KeyOut(BaseModel):
    key_id: str
    name: str
    role: Role
    collections: list[str]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    user_id: uuid.UUID | None = None


class CreatedKey(KeyOut):
    api_key: str = Field(description="the key itself; shown once, never stored")
