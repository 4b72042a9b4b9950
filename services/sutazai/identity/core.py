"""Identity domain logic: issue, verify and revoke API keys; issue and sign out bearer tokens;
audit. An admin limited to some collections manages only keys within them, sees only their
audit entries, and can never create a credential wider than its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sutazai.identity.audit_chain import Verification, verify
from sutazai.identity.store import audit, keys
from sutazai.lib.access import Principal, Role, check_collection_name
from sutazai.lib.context import current_request_id
from sutazai.lib.db import Database
from sutazai.lib.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from sutazai.lib.security import API_KEY_PREFIX, TokenCodec, generate_api_key, parse_api_key, secret_matches

OWN_ACTIONS = frozenset({"api_key", "token"})
"""Action prefixes only identity writes."""


@dataclass(frozen=True)
class IssuedKey:
    key: keys.ApiKeyRow
    plaintext: str


class IdentityCore:
    """Owns credentials. Takes its collaborators in the constructor; knows nothing of HTTP."""

    def __init__(self, *, db: Database, codec: TokenCodec | None) -> None:
        self._db, self._codec = db, codec

    async def create_key(
        self, *, name: str, role: Role, collections: list[str], actor: str, by: Principal | None = None
    ) -> IssuedKey:
        """A new key. `by`, the admin asking (None: the operator at the CLI), must cover the new
        key's collections: a scoped admin names collections within its own, never none."""
        for collection in collections:
            check_collection_name(collection)
        wanted = sorted(set(collections))
        if by is not None and not by.covers(wanted):
            mine = ", ".join(by.collections)
            if not wanted:
                raise Forbidden(f"your credential is limited to {mine}; a key you create must name its "
                                "collections (empty would mean every collection)")
            outside = ", ".join(c for c in wanted if c not in by.collections)
            raise Forbidden(f"your credential is limited to {mine}; it cannot create a key for {outside}")
        new = generate_api_key()
        async with self._db.connection() as conn, conn.transaction():
            row = await keys.insert_api_key(
                conn=conn, key_id=new.key_id, name=name, role=role.value,
                secret_hash=new.secret_hash, collections=wanted, created_by=actor,
            )
            await audit.insert_audit(
                conn=conn, actor=actor, action="api_key.create", target=new.key_id,
                detail={"name": name, "role": role.value, "collections": wanted},
                request_id=current_request_id(), collections=wanted,
            )
        return IssuedKey(key=row, plaintext=new.plaintext)

    async def verify_key(self, raw_key: str) -> Principal:
        parsed = parse_api_key(raw_key)
        if parsed is None:
            raise Unauthenticated("API key is malformed; keys look like szk_<12 hex>_<secret>")
        key_id, secret = parsed
        async with self._db.connection() as conn:
            row = await keys.get_api_key(conn=conn, key_id=key_id)
            if row is None or not secret_matches(secret, row["secret_hash"]):
                raise Unauthenticated("API key is not valid")
            if row["revoked_at"] is not None:
                raise Unauthenticated("API key has been revoked")
            await keys.touch_api_key(conn=conn, key_id=key_id)
        return Principal(
            subject=f"key:{key_id}", role=Role(row["role"]), credential="api_key", key_id=key_id,
            collections=tuple(row["collections"]),
        )

    async def verify_token(self, token: str) -> Principal:
        """A bearer token whose signature and expiry hold, whose key is still active and which
        was not signed out: checked against the tables on every call, so revocation is immediate."""
        if self._codec is None:
            raise Unauthenticated("bearer tokens are disabled on this platform (no SUTAZAI_JWT_SECRET)")
        principal = self._codec.verify(token)
        async with self._db.connection() as conn:
            key_gone, signed_out = await keys.key_state(conn=conn, key_id=principal.key_id,
                                                        jti=principal.token_id or "")
        if signed_out:
            raise Unauthenticated("this session was signed out; sign in again")
        if key_gone:
            raise Unauthenticated("the API key this token was issued for has been revoked")
        return principal

    async def verify(self, raw: str) -> Principal:
        """ApiKeyVerifier for identity's own endpoints (and, through whoami, for every service)."""
        if raw.startswith(f"{API_KEY_PREFIX}_"):
            return await self.verify_key(raw)
        return await self.verify_token(raw)

    async def list_keys(self, *, include_revoked: bool, by: Principal) -> list[keys.ApiKeyRow]:
        """Every key for an unrestricted admin; for a scoped one, the keys within its scope."""
        async with self._db.connection() as conn:
            found = await keys.list_api_keys(conn=conn, include_revoked=include_revoked)
        return [row for row in found if by.covers(row["collections"])]

    async def revoke_key(self, *, key_id: str, by: Principal) -> None:
        """Revoke a key within `by`'s scope (any other is reported as not found, as a missing one
        is). The last active unrestricted admin key cannot be revoked: that would lock everyone out."""
        async with self._db.connection() as conn, conn.transaction():
            unrestricted_admins = await keys.lock_unrestricted_admins(conn=conn)
            row = await keys.get_api_key(conn=conn, key_id=key_id)
            if row is None or row["revoked_at"] is not None or not by.covers(row["collections"]):
                raise NotFound(f"no active API key with id {key_id} that you manage")
            if unrestricted_admins == [key_id]:
                raise Conflict("this is the last active admin key limited to no collection; revoking it "
                               "would lock everyone out. Create another unrestricted admin key first.")
            await keys.revoke_api_key(conn=conn, key_id=key_id)
            await audit.insert_audit(
                conn=conn, actor=by.subject, action="api_key.revoke", target=key_id,
                detail={"role": row["role"], "collections": row["collections"]},
                request_id=current_request_id(), collections=row["collections"],
            )

    async def issue_token(self, principal: Principal) -> tuple[str, int]:
        if self._codec is None:
            raise ValidationFailed("bearer tokens are disabled: set SUTAZAI_JWT_SECRET")
        token, ttl = self._codec.issue(principal)
        async with self._db.connection() as conn:
            await audit.insert_audit(
                conn=conn, actor=principal.subject, action="token.issue", target=principal.key_id,
                detail={"ttl_seconds": ttl}, request_id=current_request_id(), collections=principal.collections,
            )
        return token, ttl

    async def sign_out(self, principal: Principal) -> None:
        """Revoke the bearer token the caller presented (a browser session or a minted token)."""
        if principal.token_id is None or principal.expires_at is None:
            raise ValidationFailed("only a bearer token can be signed out; to end an API key, revoke it "
                                   "(DELETE /api/identity/v1/keys/{key_id})")
        async with self._db.connection() as conn, conn.transaction():
            await keys.revoke_token(conn=conn, jti=principal.token_id, subject=principal.subject,
                                    expires_at=principal.expires_at)
            await audit.insert_audit(
                conn=conn, actor=principal.subject, action="token.sign_out", target=principal.key_id,
                detail={}, request_id=current_request_id(), collections=principal.collections,
            )

    async def record(self, *, by: Principal, action: str, target: str | None, detail: dict[str, Any],
                     collections: list[str]) -> None:
        """Append an entry for an action another service carried out for `by` (the actor is always
        the caller). Identity's own actions (keys, tokens) cannot be recorded from outside, and a
        scoped admin records only within its collections."""
        if action.split(".", 1)[0] in OWN_ACTIONS:
            raise Forbidden(f"{action!r} is recorded by identity itself when it happens; choose another action name")
        if not by.covers(collections):
            raise Forbidden("an entry about collections outside your credential's scope cannot be recorded")
        async with self._db.connection() as conn:
            await audit.insert_audit(conn=conn, actor=by.subject, action=action, target=target, detail=detail,
                                     request_id=current_request_id(), collections=collections)

    async def audit_entries(self) -> AsyncIterator[dict[str, Any]]:
        """Every audit entry in chain order, read in batches."""
        after = 0
        while True:
            async with self._db.connection() as conn:
                rows = await audit.chain(conn=conn, after_id=after)
            if not rows:
                return
            for row in rows:
                yield row
            after = int(rows[-1]["id"])

    async def verify_audit(self, *, expected_head: str | None = None) -> Verification:
        """Walk the hash chain; report every edited, deleted, inserted or moved entry."""
        return verify([row async for row in self.audit_entries()], expected_head=expected_head)

    async def audit(self, *, limit: int, by: Principal) -> list[dict[str, object]]:
        """Newest entries: all of them for an unrestricted admin, else those within its scope."""
        async with self._db.connection() as conn:
            return await audit.list_audit(conn=conn, limit=limit,
                                          within=None if by.unrestricted else list(by.collections))
