"""Identity domain logic: issue, verify and revoke API keys; issue bearer tokens; audit."""

from __future__ import annotations

from dataclasses import dataclass

from sutazai.identity.store import audit, keys
from sutazai.lib.access import Principal, Role, check_collection_name
from sutazai.lib.context import current_request_id
from sutazai.lib.db import Database
from sutazai.lib.errors import NotFound, Unauthenticated, ValidationFailed
from sutazai.lib.security import TokenCodec, generate_api_key, parse_api_key, secret_matches


@dataclass(frozen=True)
class IssuedKey:
    key: keys.ApiKeyRow
    plaintext: str


class IdentityCore:
    """Owns credentials. Takes its collaborators in the constructor; knows nothing of HTTP."""

    def __init__(self, *, db: Database, codec: TokenCodec | None) -> None:
        self._db, self._codec = db, codec

    async def create_key(
        self, *, name: str, role: Role, collections: list[str], actor: str
    ) -> IssuedKey:
        for name in collections:
            check_collection_name(name)
        new = generate_api_key()
        async with self._db.connection() as conn, conn.transaction():
            row = await keys.insert_api_key(
                conn=conn, key_id=new.key_id, name=name, role=role.value,
                secret_hash=new.secret_hash, collections=sorted(set(collections)), created_by=actor,
            )
            await audit.insert_audit(
                conn=conn, actor=actor, action="api_key.create", target=new.key_id,
                detail={"name": name, "role": role.value}, request_id=current_request_id(),
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

    async def verify(self, raw_key: str) -> Principal:
        """ApiKeyVerifier for identity's own endpoints."""
        return await self.verify_key(raw_key)

    async def list_keys(self, *, include_revoked: bool) -> list[keys.ApiKeyRow]:
        async with self._db.connection() as conn:
            return await keys.list_api_keys(conn=conn, include_revoked=include_revoked)

    async def revoke_key(self, *, key_id: str, actor: str) -> None:
        async with self._db.connection() as conn, conn.transaction():
            if not await keys.revoke_api_key(conn=conn, key_id=key_id):
                raise NotFound(f"no active API key with id {key_id}")
            await audit.insert_audit(
                conn=conn, actor=actor, action="api_key.revoke", target=key_id, detail={},
                request_id=current_request_id(),
            )

    async def issue_token(self, principal: Principal) -> tuple[str, int]:
        if self._codec is None:
            raise ValidationFailed("bearer tokens are disabled: set SUTAZAI_JWT_SECRET")
        token, ttl = self._codec.issue(principal)
        async with self._db.connection() as conn:
            await audit.insert_audit(
                conn=conn, actor=principal.subject, action="token.issue", target=principal.key_id,
                detail={"ttl_seconds": ttl}, request_id=current_request_id(),
            )
        return token, ttl

    async def audit(self, *, limit: int) -> list[dict[str, object]]:
        async with self._db.connection() as conn:
            return await audit.list_audit(conn=conn, limit=limit)
