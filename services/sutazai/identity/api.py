"""HTTP adapter of the identity service."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from sutazai.identity.accounts import GROUP_RULE, USERNAME_RULE, username_of
from sutazai.identity.deps import Identity
from sutazai.lib.access import CollectionName, Principal, Role
from sutazai.lib.contracts import identity as contract
from sutazai.lib.contracts.identity import CreatedKey, CreateKey, KeyOut, Revocation
from sutazai.lib.deps import AdminPrincipal, CurrentPrincipal, PlatformAdmin
from sutazai.lib.errors import ValidationFailed
from sutazai.lib.revocations import publish_revocation

if TYPE_CHECKING:
    from sutazai.identity.wiring import IdentityComponents

router = APIRouter(prefix=contract.PREFIX, tags=["identity"])


def key_out(row: Mapping[str, Any]) -> KeyOut:
    return KeyOut.model_validate({k: v for k, v in row.items() if k != "secret_hash"})


class WhoAmI(BaseModel):
    subject: str
    role: Role = Field(description="the highest role held on any collection")
    credential: str
    key_id: str | None
    collections: list[str]
    user_id: str | None = None
    grants: dict[str, Role] = Field(default_factory=dict, description="collection (or * for every collection) -> role")


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


async def _revoked(identity: IdentityComponents, revocation: Revocation) -> None:
    """Every other service forgets what it cached for the credentials this change ended (best
    effort: their cache's lifetime bounds it when the bus is down)."""
    await publish_revocation(identity.resources.redis, revocation)


@router.get("/whoami", response_model=WhoAmI, summary="The caller's identity (also used by "
            "other services to verify API keys)")
async def whoami(principal: CurrentPrincipal) -> WhoAmI:
    return WhoAmI.model_validate(principal.to_dict())


@router.post("/keys", response_model=CreatedKey, status_code=201, summary="Create an API key (admins; "
             "a user for itself), never wider than the caller's own access")
async def create_key(body: CreateKey, principal: CurrentPrincipal, identity: Identity) -> CreatedKey:
    issued = await identity.core.create_key(
        name=body.name, role=body.role, collections=body.collections, actor=principal.subject, by=principal,
        owner=body.owner,
    )
    return CreatedKey(**key_out(issued.key).model_dump(), api_key=issued.plaintext)


@router.get("/keys", response_model=list[KeyOut], summary="List API keys: those within the collections "
            "the caller administers, and the caller's own")
async def list_keys(
    principal: CurrentPrincipal, identity: Identity, include_revoked: Annotated[bool, Query()] = False
) -> list[KeyOut]:
    rows = await identity.core.list_keys(include_revoked=include_revoked, by=principal)
    return [key_out(row) for row in rows]


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key and every token issued "
               "for it (one's own, or within collections one administers; never the last administrator)")
async def revoke_key(key_id: Annotated[str, Path(max_length=64)], principal: CurrentPrincipal,
                     identity: Identity) -> None:
    await identity.core.revoke_key(key_id=key_id, by=principal)
    await _revoked(identity, Revocation(reason="key_revoked", key_id=key_id))


@router.post("/tokens", response_model=Token, summary="Exchange the caller's credential for a "
             "short-lived bearer token")
async def issue_token(principal: CurrentPrincipal, identity: Identity) -> Token:
    token, ttl = await identity.core.issue_token(principal)
    return Token(access_token=token, expires_in=ttl)


@router.delete("/tokens/current", status_code=204, summary="Sign out: revoke the bearer token this "
               "request carries, at once, on every service")
async def sign_out(principal: CurrentPrincipal, identity: Identity) -> None:
    await identity.core.sign_out(principal)
    # the other services cache a token's answer without its id: everything cached for its subject goes
    # (the subject's other credentials are asked about again, once)
    await _revoked(identity, Revocation(reason="signed_out", token_id=principal.token_id, subject=principal.subject))


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
             "for the caller (on collections it may use, or platform-wide for admins of every collection; "
             "the actor is always the caller)")
async def record_audit(body: AuditIn, admin: CurrentPrincipal, identity: Identity) -> dict[str, str]:
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


# -- users, sessions, groups, grants -------------------------------------------------------------

Username = Annotated[str, Path(min_length=1, max_length=128, description="a user name")]
GroupName = Annotated[str, Path(min_length=1, max_length=63, description="a group name")]


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)


@router.post("/sessions", response_model=Token, summary="Sign in with a user name and password: a "
             "short-lived bearer token (public; failures are rate limited and lock the account)",
             openapi_extra={"security": []})
async def sign_in(body: SignIn, request: Request, identity: Identity) -> Token:
    return await _signed_in(request, identity, lambda: identity.core.sign_in(username=body.username,
                                                                            password=body.password))


async def _signed_in(request: Request, identity: Identity, prove: Callable[[], Awaitable[Principal]]) -> Token:
    """A bearer token for whoever `prove` vouches for, within the per-address failure limit."""
    address = request.client.host if request.client else None
    principal = await identity.authenticator.attempt(address, prove)
    token, ttl = await identity.core.issue_token(principal)
    return Token(access_token=token, expires_in=ttl)


class Provider(BaseModel):
    name: str = Field(description="ldap or oidc")
    label: str
    redirect: bool = Field(description="true: the browser is sent to the provider (OIDC); false: the user name "
                                       "and password form signs in through it (LDAP)")


@router.get("/sso/providers", response_model=list[Provider], summary="The single sign-on providers set up "
            "(public: the sign-in page shows them)", openapi_extra={"security": []})
async def sso_providers(identity: Identity) -> list[Provider]:
    return [Provider.model_validate(p) for p in identity.core.providers()]


class OidcStart(BaseModel):
    redirect_uri: str = Field(min_length=8, max_length=500, pattern="^https?://",
                              description="where the provider sends the browser back (registered with it)")


class OidcAuthorization(BaseModel):
    authorization_url: str


@router.post("/sso/oidc/authorize", response_model=OidcAuthorization, summary="Start an OpenID Connect "
             "sign-in: the provider URL to send the browser to (public)", openapi_extra={"security": []})
async def oidc_authorize(body: OidcStart, identity: Identity) -> OidcAuthorization:
    return OidcAuthorization(authorization_url=await identity.core.oidc_authorization_url(body.redirect_uri))


class OidcCallback(BaseModel):
    code: str = Field(min_length=1, max_length=2000)
    state: str = Field(min_length=1, max_length=4000)


@router.post("/sso/oidc/callback", response_model=Token, summary="Finish an OpenID Connect sign-in: the "
             "provider's code for a bearer token (public)", openapi_extra={"security": []})
async def oidc_callback(body: OidcCallback, request: Request, identity: Identity) -> Token:
    return await _signed_in(request, identity, lambda: identity.core.oidc_sign_in(code=body.code, state=body.state))


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=128, description=USERNAME_RULE)
    password: str | None = Field(default=None, max_length=256,
                                 description="omit for a user who signs in only through single sign-on")
    display_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)


class UserOut(BaseModel):
    user_id: uuid.UUID
    username: str
    display_name: str
    email: str | None
    source: str
    has_password: bool
    created_by: str
    created_at: datetime
    disabled_at: datetime | None
    locked_until: datetime | None
    last_sign_in_at: datetime | None
    groups: list[str]
    grants: dict[str, Role]


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user (admins of every "
             "collection)")
async def create_user(body: NewUser, admin: PlatformAdmin, identity: Identity) -> UserOut:
    row = await identity.core.accounts.create_user(username=body.username, password=body.password,
                                                   display_name=body.display_name, email=body.email,
                                                   actor=admin.subject)
    listed = {u["username"]: u for u in await identity.core.accounts.list_users()}
    return UserOut.model_validate(listed[row["username"]])


@router.get("/users", response_model=list[UserOut], summary="List users, their groups and grants (admins)")
async def list_users(admin: AdminPrincipal, identity: Identity) -> list[UserOut]:  # noqa: ARG001
    return [UserOut.model_validate(u) for u in await identity.core.accounts.list_users()]


@router.delete("/users/{username}", status_code=204, summary="Delete a user, its keys and its sessions "
               "(admins of every collection)")
async def delete_user(username: Username, admin: PlatformAdmin, identity: Identity) -> None:
    await identity.core.accounts.delete_user(username=username, actor=admin.subject)
    await _revoked(identity, Revocation(reason="user_changed", subject=f"user:{username_of(username)}"))


class UserState(BaseModel):
    disabled: bool | None = Field(default=None, description="true: the user can no longer sign in and every "
                                                            "session and key of theirs stops working at once")
    unlock: bool = Field(default=False, description="true: lift a lockout after failed sign-ins")
    password: str | None = Field(default=None, max_length=256,
                                 description="a new password set by the administrator (ends every session)")


@router.patch("/users/{username}", status_code=204, summary="Disable or enable a user, lift a lockout, "
              "or set a new password (admins of every collection)")
async def update_user(username: Username, body: UserState, admin: PlatformAdmin, identity: Identity) -> None:
    accounts = identity.core.accounts
    if body.disabled is not None:
        await accounts.set_enabled(username=username, enabled=not body.disabled, actor=admin.subject)
    if body.unlock:
        await accounts.unlock(username=username, actor=admin.subject)
    if body.password is not None:
        await accounts.reset_password(username=username, password=body.password, actor=admin.subject)
    if body.disabled or body.password is not None:  # what the user's credentials were is no longer good
        await _revoked(identity, Revocation(reason="user_changed", subject=f"user:{username_of(username)}"))


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


@router.put("/password", response_model=Token, summary="Change the signed-in user's own password; every "
            "earlier session ends and a fresh token is returned")
async def change_password(body: PasswordChange, principal: CurrentPrincipal, identity: Identity) -> Token:
    fresh = await identity.core.accounts.change_password(principal=principal, current=body.current_password,
                                                         new=body.new_password)
    await _revoked(identity, Revocation(reason="password_changed", subject=principal.subject))
    token, ttl = await identity.core.issue_token(fresh)
    return Token(access_token=token, expires_in=ttl)


class NewGroup(BaseModel):
    name: str = Field(min_length=1, max_length=63, description=GROUP_RULE)
    description: str = Field(default="", max_length=500)


class GroupOut(BaseModel):
    group_id: uuid.UUID
    name: str
    description: str
    created_by: str
    created_at: datetime
    members: list[str]


@router.post("/groups", response_model=GroupOut, status_code=201, summary="Create a group (admins of every "
             "collection)")
async def create_group(body: NewGroup, admin: PlatformAdmin, identity: Identity) -> GroupOut:
    row = await identity.core.accounts.create_group(name=body.name, description=body.description,
                                                    actor=admin.subject)
    return GroupOut.model_validate({**row, "members": []})


@router.get("/groups", response_model=list[GroupOut], summary="List groups and their members (admins)")
async def list_groups(admin: AdminPrincipal, identity: Identity) -> list[GroupOut]:  # noqa: ARG001
    return [GroupOut.model_validate(g) for g in await identity.core.accounts.list_groups()]


@router.delete("/groups/{group}", status_code=204, summary="Delete a group and its grants (admins of every "
               "collection)")
async def delete_group(group: GroupName, admin: PlatformAdmin, identity: Identity) -> None:
    await identity.core.accounts.delete_group(name=group, actor=admin.subject)
    await _revoked(identity, Revocation(reason="group_changed", everyone=True))  # its members held its grants


@router.put("/groups/{group}/members/{username}", status_code=204, summary="Add a user to a group "
            "(admins of every collection)")
async def add_member(group: GroupName, username: Username, admin: PlatformAdmin, identity: Identity) -> None:
    await identity.core.accounts.set_member(group=group, username=username, member=True, actor=admin.subject)


@router.delete("/groups/{group}/members/{username}", status_code=204, summary="Remove a user from a group "
               "(admins of every collection)")
async def remove_member(group: GroupName, username: Username, admin: PlatformAdmin, identity: Identity) -> None:
    await identity.core.accounts.set_member(group=group, username=username, member=False, actor=admin.subject)
    await _revoked(identity, Revocation(reason="group_changed", subject=f"user:{username_of(username)}"))


class GrantIn(BaseModel):
    user: str | None = Field(default=None, max_length=128, description="the user granted to (or name a group)")
    group: str | None = Field(default=None, max_length=63, description="the group granted to (or name a user)")
    collection: str = Field(min_length=1, max_length=63, description="a collection, or * for every collection")
    role: Role = Role.user


class GrantOut(BaseModel):
    grant_id: int
    grantee_kind: str
    grantee: str
    collection: str
    role: Role
    granted_by: str
    granted_at: datetime


@router.put("/grants", status_code=204, summary="Grant a role on a collection to a user or group (admins "
            "of that collection; of every collection for *)")
async def set_grant(body: GrantIn, admin: AdminPrincipal, identity: Identity) -> None:
    await identity.core.accounts.grant(by=admin, user=body.user, group=body.group, collection=body.collection,
                                       role=body.role)


@router.delete("/grants", status_code=204, summary="Withdraw a grant: access ends at once (admins of that "
               "collection)")
async def revoke_grant(admin: AdminPrincipal, identity: Identity,
                       collection: Annotated[str, Query(min_length=1, max_length=63)],
                       user: Annotated[str | None, Query(max_length=128)] = None,
                       group: Annotated[str | None, Query(max_length=63)] = None) -> None:
    await identity.core.accounts.revoke_grant(by=admin, user=user, group=group, collection=collection)
    await _revoked(identity, Revocation(reason="grant_withdrawn", subject=f"user:{username_of(user)}")
                   if user else Revocation(reason="grant_withdrawn", everyone=True))  # a group's: its members


@router.get("/grants", response_model=list[GrantOut], summary="Grants on the collections the caller administers")
async def list_grants(admin: AdminPrincipal, identity: Identity) -> list[GrantOut]:
    return [GrantOut.model_validate(g) for g in await identity.core.accounts.list_grants(by=admin)]


class Mapping_(BaseModel):
    provider: str = Field(pattern="^(ldap|oidc)$")
    external_group: str = Field(min_length=1, max_length=500,
                                description="an LDAP group DN, or a value of the OIDC groups claim")
    group: str = Field(min_length=1, max_length=63, description="the SutazAI group its members join")


class MappingOut(BaseModel):
    provider: str
    external_group: str
    group_name: str
    created_by: str
    created_at: datetime


@router.put("/directory-mappings", status_code=204, summary="Map a directory group to a SutazAI group "
            "(admins of every collection)")
async def map_group(body: Mapping_, admin: PlatformAdmin, identity: Identity) -> None:
    await identity.core.accounts.map_group(provider=body.provider, external_group=body.external_group,
                                           group=body.group, mapped=True, actor=admin.subject)


@router.delete("/directory-mappings", status_code=204, summary="Remove a directory group mapping (admins "
               "of every collection)")
async def unmap_group(admin: PlatformAdmin, identity: Identity,
                      provider: Annotated[str, Query(pattern="^(ldap|oidc)$")],
                      external_group: Annotated[str, Query(min_length=1, max_length=500)],
                      group: Annotated[str, Query(min_length=1, max_length=63)]) -> None:
    await identity.core.accounts.map_group(provider=provider, external_group=external_group, group=group,
                                           mapped=False, actor=admin.subject)


@router.get("/directory-mappings", response_model=list[MappingOut], summary="Directory group mappings "
            "(admins)")
async def list_mappings(admin: AdminPrincipal, identity: Identity) -> list[MappingOut]:  # noqa: ARG001
    return [MappingOut.model_validate(m) for m in await identity.core.accounts.list_mappings()]
