"""Identity domain logic: issue, verify and revoke API keys; issue and sign out bearer tokens;
audit. An admin limited to some collections manages only keys within them, sees only their
audit entries, and can never create a credential wider than its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sutazai.identity.accounts import Accounts
from sutazai.identity.audit_chain import Verification, verify
from sutazai.identity.sso import Ldap, Oidc
from sutazai.identity.store import Conn, audit, keys, users
from sutazai.lib.access import EVERY_COLLECTION, Principal, Role, check_collection_name, narrower
from sutazai.lib.context import current_request_id
from sutazai.lib.db import Database
from sutazai.lib.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from sutazai.lib.security import API_KEY_PREFIX, TokenCodec, generate_api_key, parse_api_key, secret_matches

OWN_ACTIONS = frozenset({"api_key", "token"})
"""Action prefixes only identity writes."""


@dataclass(frozen=True)
class IssuedKey:
    key: keys.ApiKeyRow
    plaintext: str


class CredentialBook:
    """Owns credentials. Takes its collaborators in the constructor; knows nothing of HTTP."""

    def __init__(self, *, db: Database, codec: TokenCodec | None, accounts: Accounts | None = None,
                 ldap: Ldap | None = None, oidc: Oidc | None = None) -> None:
        self._db, self._codec = db, codec
        self.accounts = accounts or Accounts(db=db)
        self.ldap, self.oidc = ldap, oidc

    def providers(self) -> list[dict[str, Any]]:
        """The single sign-on providers this platform offers (for the sign-in page)."""
        found: list[dict[str, Any]] = []
        if self.ldap is not None:
            found.append({"name": "ldap", "label": "directory (LDAP) account", "redirect": False})
        if self.oidc is not None:
            found.append({"name": "oidc", "label": self.oidc.label, "redirect": True})
        return found

    async def sign_in(self, *, username: str, password: str) -> Principal:
        """A local user by its password; anyone else through LDAP when it is set up."""
        source = await self.accounts.source_of(username)
        if self.ldap is None or source == "local":
            return await self.accounts.sign_in(username=username, password=password)
        if source not in (None, "ldap"):
            raise Unauthenticated("user name or password is not valid")
        found = await self.ldap.authenticate(username.strip().lower(), password)
        return await self.accounts.directory_sign_in(found)

    async def oidc_authorization_url(self, redirect_uri: str) -> str:
        if self.oidc is None:
            raise NotFound("OpenID Connect sign-in is not set up on this platform (SUTAZAI_OIDC_ISSUER)")
        return await self.oidc.authorization_url(redirect_uri)

    async def oidc_sign_in(self, *, code: str, state: str) -> Principal:
        if self.oidc is None:
            raise NotFound("OpenID Connect sign-in is not set up on this platform (SUTAZAI_OIDC_ISSUER)")
        return await self.accounts.directory_sign_in(await self.oidc.complete(code=code, state=state))

    async def create_key(
        self, *, name: str, role: Role, collections: list[str], actor: str, by: Principal | None = None,
        owner: str | None = None,
    ) -> IssuedKey:
        """A new key, never wider than `by` (None: the operator at the CLI): `by` must hold at
        least `role` on every collection of the key (on every collection when it names none). A
        key made by a user belongs to that user; an admin may make one for another user
        (`owner`). A key that belongs to a user never grants more than the user holds at the
        time of use, so withdrawing a grant narrows the user's keys at once."""
        for collection in collections:
            check_collection_name(collection)
        wanted = sorted(set(collections))
        if by is not None and by.user_id is None and by.role is not Role.admin:
            raise Forbidden("only an admin, or a user for itself, may create API keys; this key belongs to no user")
        everything_mine = by is not None and by.user_id is not None and owner is None and not wanted
        if by is not None and not everything_mine and not by.holds(role, wanted):
            where = ", ".join(wanted) if wanted else "every collection"
            raise Forbidden(f"your credential does not hold role {role.value} on {where}; a key you create "
                            "may be narrower than yours, never wider (name its collections, or a lower role)")
        async with self._db.connection() as conn, conn.transaction():
            owner_id = await self._owner(conn, by=by, owner=owner, collections=wanted)
            new = generate_api_key()
            row = await keys.insert_api_key(
                conn=conn, key_id=new.key_id, name=name, role=role.value,
                secret_hash=new.secret_hash, collections=wanted, created_by=actor, user_id=owner_id,
            )
            await audit.insert_audit(
                conn=conn, actor=actor, action="api_key.create", target=new.key_id,
                detail={"name": name, "role": role.value, "collections": wanted, "owner": owner},
                request_id=current_request_id(), collections=wanted,
            )
        return IssuedKey(key=row, plaintext=new.plaintext)

    @staticmethod
    async def _owner(conn: Conn, *, by: Principal | None, owner: str | None,
                     collections: list[str]) -> uuid.UUID | None:
        if owner is None:
            return uuid.UUID(by.user_id) if by is not None and by.user_id else None
        found = await users.get_user(conn=conn, username=owner.strip().lower())
        if found is None:
            raise ValidationFailed(f"no user {owner!r} to own the key")
        if by is not None and str(found["user_id"]) != by.user_id and not by.administers(collections):
            raise Forbidden("a key for another user needs an admin of the key's collections")
        return found["user_id"]

    async def _key_principal(self, conn: Conn, row: keys.ApiKeyRow, **more: object) -> Principal:
        """The key as a caller: its role on its collections, narrowed to what its owner (if any) holds now."""
        if row["user_id"] is None:
            return Principal(subject=f"key:{row['key_id']}", role=Role(row["role"]), key_id=row["key_id"],
                             collections=tuple(row["collections"]), **more)  # type: ignore[arg-type]
        owner = await self.accounts.user_principal(conn, row["user_id"], credential="api_key")
        key_role = Role(row["role"])
        granted: dict[str, Role] = {}
        for collection in row["collections"] or [EVERY_COLLECTION]:
            pairs = owner.roles.items() if collection == EVERY_COLLECTION else [(collection, owner.role_in(collection))]
            for name, held in pairs:
                if held is not None:
                    granted[name] = narrower(key_role, held)
        return Principal.of_grants(subject=owner.subject, grants=granted, key_id=row["key_id"],
                                   user_id=owner.user_id, **more)  # type: ignore[arg-type]

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
            return await self._key_principal(conn, row, credential="api_key")

    async def verify_token(self, token: str) -> Principal:
        """A bearer token whose signature and expiry hold, whose key is still active and which
        was not signed out: checked against the tables on every call, so revocation is immediate."""
        if self._codec is None:
            raise Unauthenticated("bearer tokens are disabled on this platform (no SUTAZAI_JWT_SECRET)")
        principal = self._codec.verify(token)
        token_fields: dict[str, Any] = {"credential": "token", "token_id": principal.token_id,
                                        "expires_at": principal.expires_at, "issued_at": principal.issued_at}
        async with self._db.connection() as conn:
            key_gone, signed_out = await keys.key_state(conn=conn, key_id=principal.key_id,
                                                        jti=principal.token_id or "")
            if signed_out:
                raise Unauthenticated("this session was signed out; sign in again")
            if key_gone:
                raise Unauthenticated("the API key this token was issued for has been revoked")
            if principal.key_id is not None:
                row = await keys.get_api_key(conn=conn, key_id=principal.key_id)
                assert row is not None  # noqa: S101 - key_state said it is active
                if principal.user_id is not None and row["user_id"] is not None:
                    await self.accounts.user_principal(conn, row["user_id"], issued_at=principal.issued_at,
                                                       credential="token")
                return await self._key_principal(conn, row, **token_fields)
            if principal.user_id is not None:
                return await self.accounts.user_principal(conn, uuid.UUID(principal.user_id), **token_fields)
        return principal

    async def verify(self, raw: str) -> Principal:
        """ApiKeyVerifier for identity's own endpoints (and, through whoami, for every service)."""
        if raw.startswith(f"{API_KEY_PREFIX}_"):
            return await self.verify_key(raw)
        return await self.verify_token(raw)

    @staticmethod
    def _manages(by: Principal, row: keys.ApiKeyRow) -> bool:
        """An admin of the key's collections, the user the key belongs to, or the key itself (a
        key may revoke itself, as an evaluation run does with its own key when it ends)."""
        own = by.user_id is not None and row["user_id"] is not None and str(row["user_id"]) == by.user_id
        return own or by.key_id == row["key_id"] or by.administers(row["collections"])

    async def list_keys(self, *, include_revoked: bool, by: Principal) -> list[keys.ApiKeyRow]:
        """Every key for an admin of every collection; for others, the keys within the
        collections they administer and their own."""
        async with self._db.connection() as conn:
            found = await keys.list_api_keys(conn=conn, include_revoked=include_revoked)
        return [row for row in found if self._manages(by, row)]

    async def revoke_key(self, *, key_id: str, by: Principal) -> None:
        """Revoke a key within `by`'s scope (any other is reported as not found, as a missing one
        is). The last active unrestricted admin key cannot be revoked: that would lock everyone out."""
        async with self._db.connection() as conn, conn.transaction():
            had = await self.accounts.lock_administrators(conn)
            row = await keys.get_api_key(conn=conn, key_id=key_id)
            if row is None or row["revoked_at"] is not None or not self._manages(by, row):
                raise NotFound(f"no active API key with id {key_id} that you manage")
            await keys.revoke_api_key(conn=conn, key_id=key_id)
            await self.accounts.ensure_an_administrator(conn, had)
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
        if not by.administers(collections) and not (collections and by.covers(collections)):
            raise Forbidden("an entry about collections you may not use (or, for the whole platform, that you do "
                            "not administer) cannot be recorded")
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
            return await audit.list_audit(conn=conn, limit=limit, within=by.administered)
