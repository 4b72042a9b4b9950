"""HTTP adapter of the identity service."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from sutazai.identity.deps import Identity
from sutazai.lib.access import CollectionName, Role
from sutazai.lib.deps import AdminPrincipal, CurrentPrincipal, PlatformAdmin
from sutazai.lib.errors import ValidationFailed

router = APIRouter(prefix="/api/identity/v1", tags=["identity"])


class CreateKey(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="what the key is for")
    role: Role = Role.user
    collections: list[CollectionName] = Field(default_factory=list, max_length=100,
                                   description="collections the key may use; empty means all")


class KeyOut(BaseModel):
    key_id: str
    name: str
    role: Role
    collections: list[str]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> KeyOut:
        return cls.model_validate({k: v for k, v in row.items() if k != "secret_hash"})


class CreatedKey(KeyOut):
    api_key: str = Field(description="the key itself; shown once, never stored")


class WhoAmI(BaseModel):
    subject: str
    role: Role
    credential: str
    key_id: str | None
    collections: list[str]


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


@router.get("/whoami", response_model=WhoAmI, summary="The caller's identity (also used by "
            "other services to verify API keys)")
async def whoami(principal: CurrentPrincipal) -> WhoAmI:
    return WhoAmI.model_validate(principal.to_dict())


@router.post("/keys", response_model=CreatedKey, status_code=201, summary="Create an API key")
async def create_key(body: CreateKey, admin: AdminPrincipal, identity: Identity) -> CreatedKey:
    issued = await identity.core.create_key(
        name=body.name, role=body.role, collections=body.collections, actor=admin.subject, by=admin
    )
    return CreatedKey(**KeyOut.of(issued.key).model_dump(), api_key=issued.plaintext)


@router.get("/keys", response_model=list[KeyOut], summary="List API keys (an admin limited to some "
            "collections sees only the keys within them)")
async def list_keys(
    admin: AdminPrincipal, identity: Identity, include_revoked: Annotated[bool, Query()] = False
) -> list[KeyOut]:
    rows = await identity.core.list_keys(include_revoked=include_revoked, by=admin)
    return [KeyOut.of(row) for row in rows]


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key and every token issued "
               "for it (the last unrestricted admin key cannot be revoked)")
async def revoke_key(key_id: Annotated[str, Path(max_length=64)], admin: AdminPrincipal,
                     identity: Identity) -> None:
    await identity.core.revoke_key(key_id=key_id, by=admin)


@router.post("/tokens", response_model=Token, summary="Exchange the caller's credential for a "
             "short-lived bearer token")
async def issue_token(principal: CurrentPrincipal, identity: Identity) -> Token:
    token, ttl = await identity.core.issue_token(principal)
    return Token(access_token=token, expires_in=ttl)


@router.delete("/tokens/current", status_code=204, summary="Sign out: revoke the bearer token this "
               "request carries, at once, on every service")
async def sign_out(principal: CurrentPrincipal, identity: Identity) -> None:
    await identity.core.sign_out(principal)


class AuditVerification(BaseModel):
    ok: bool = Field(description="true when every entry is intact and in place")
    entries: int
    head: str = Field(description="hash of the newest entry: record it elsewhere to detect later truncation")
    problems: list[str]


@router.get("/audit/verify", response_model=AuditVerification, summary="Check the audit log's hash chain: "
            "any edited, deleted, inserted or reordered entry is reported (unrestricted admins)")
async def verify_audit(admin: PlatformAdmin, identity: Identity,  # noqa: ARG001 - the check is the dependency
                       head: Annotated[str | None, Query(pattern="^[0-9a-f]{64}$",
                                                         description="a head recorded earlier")] = None,
                       ) -> AuditVerification:
    return AuditVerification.model_validate((await identity.core.verify_audit(expected_head=head)).to_dict())


@router.get("/audit/export", summary="The whole audit log as JSON lines, oldest first, for a SIEM "
            "(unrestricted admins)", response_class=StreamingResponse)
async def export_audit(admin: PlatformAdmin, identity: Identity) -> StreamingResponse:  # noqa: ARG001
    async def lines() -> AsyncIterator[bytes]:
        async for row in identity.core.audit_entries():
            yield (json.dumps(row, default=str, sort_keys=True) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="sutazai-audit.jsonl"'})


class AuditIn(BaseModel):
    action: str = Field(pattern=r"^[a-z][a-z_]*(\.[a-z_]+)+$", max_length=80,
                        description="what was done, e.g. model_routes.update")
    target: str | None = Field(default=None, max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, description="what changed (at most 8 KB as JSON)")
    collections: list[CollectionName] = Field(default_factory=list, max_length=100,
                                              description="collections it concerns; empty: the whole platform")


@router.post("/audit", status_code=201, summary="Append an entry for an action another service carried out "
             "for the caller (admins; the actor is always the caller)")
async def record_audit(body: AuditIn, admin: AdminPrincipal, identity: Identity) -> dict[str, str]:
    if len(json.dumps(body.detail)) > 8192:
        raise ValidationFailed("detail is larger than 8 KB as JSON; record what changed, not whole documents")
    await identity.core.record(by=admin, action=body.action, target=body.target, detail=body.detail,
                               collections=body.collections)
    return {"status": "recorded"}


@router.get("/audit", summary="Newest audit log entries")
async def audit(
    admin: AdminPrincipal, identity: Identity, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, object]]:
    return await identity.core.audit(limit=limit, by=admin)
