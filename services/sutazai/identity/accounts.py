"""Users, groups and grants: who people are, which groups they belong to, and which role they hold
on which collection. Passwords are Argon2id hashes (argon2-cffi); repeated failed sign-ins lock
the account for a while. A grant is made or withdrawn only by an admin of its collection (of
every collection for `*`), and no change may leave the platform without an administrator of every
collection. Single sign-on users (LDAP, OIDC) are created on first sign-in and their membership
of mapped groups follows the directory at every sign-in."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sutazai.identity.store import Conn, audit, users
from sutazai.lib.access import EVERY_COLLECTION, Principal, Role, check_collection_name, rank
from sutazai.lib.context import current_request_id
from sutazai.lib.db import Database
from sutazai.lib.errors import AccountLocked, Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from sutazai.lib.field_crypto import FieldCipher, PlainFields

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,127}$")
USERNAME_RULE = "user names are 1-128 lower-case letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
_GROUP = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
GROUP_RULE = "group names are 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
SIGN_IN_REFUSED = "user name or password is not valid"
PROVIDERS = ("ldap", "oidc")
_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def username_of(value: str) -> str:
    name = value.strip().lower()
    if not _USERNAME.match(name):
        raise ValidationFailed(f"{USERNAME_RULE} (got {value[:80]!r})")
    return name


def group_name_of(value: str) -> str:
    name = value.strip().lower()
    if not _GROUP.match(name):
        raise ValidationFailed(f"{GROUP_RULE} (got {value[:80]!r})")
    return name


def grant_target(collection: str) -> str:
    """A collection name, or `*` for every collection."""
    return collection if collection == EVERY_COLLECTION else check_collection_name(collection)


def strongest(rows: list[tuple[str, str]]) -> dict[str, Role]:
    """The highest role per collection among (collection, role) rows."""
    held: dict[str, Role] = {}
    for collection, role in rows:
        current = held.get(collection)
        held[collection] = Role(role) if current is None else max(current, Role(role), key=rank)
    return held


async def hash_password(password: str) -> str:
    """Argon2id, off the event loop (it is meant to be slow)."""
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def password_matches(stored: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored or _decoy_hash(), password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


_DECOY: list[str] = []


def _decoy_hash() -> str:
    """A hash to verify against when the user does not exist, so that the answer takes as long."""
    if not _DECOY:
        _DECOY.append(_hasher.hash(uuid.uuid4().hex))
    return _DECOY[0]


@dataclass(frozen=True)
class Directory:
    """What a directory (LDAP or OIDC) says about a person who signed in."""

    provider: str
    external_id: str
    username: str
    display_name: str
    email: str | None
    groups: list[str]


@dataclass(frozen=True)
class AccountPolicy:
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    password_min_length: int = 12


class Accounts:
    """Owns users, groups, grants and directory mappings. Knows nothing of HTTP."""

    def __init__(self, *, db: Database, policy: AccountPolicy | None = None, cipher: FieldCipher | None = None) -> None:
        self._db, self._settings = db, policy or AccountPolicy()
        self._cipher: FieldCipher = cipher or PlainFields()  # e-mail addresses are encrypted at rest in Compose

    # -- checks -----------------------------------------------------------------------------

    def check_password(self, password: str, username: str) -> None:
        minimum = self._settings.password_min_length
        if len(password) < minimum:
            raise ValidationFailed(f"the password must be at least {minimum} characters long")
        if len(password) > 256:
            raise ValidationFailed("the password must be at most 256 characters long")
        if username and username in password.lower():
            raise ValidationFailed("the password must not contain the user name")

    @staticmethod
    async def _administrators(conn: Conn) -> int:
        """Enabled users and operator keys (keys without an owner) that administer every collection."""
        return await users.operator_admin_keys(conn=conn) + len(await users.unrestricted_admin_users(conn=conn))

    async def lock_administrators(self, conn: Conn) -> int:
        """Serialise changes that could remove the last administrator; how many there are now."""
        await users.lock_administrators(conn=conn)
        return await self._administrators(conn)

    async def ensure_an_administrator(self, conn: Conn, had: int) -> None:
        """Refuse (rolling the transaction back) a change that leaves nobody who administers
        every collection where there was somebody."""
        if had and not await self._administrators(conn):
            raise Conflict("this would leave nobody who administers every collection and lock everyone out; "
                           "grant admin on '*' to another user (or create an unrestricted admin key) first")

    async def _audit(self, conn: Conn, *, by: str, action: str, target: str | None, detail: dict[str, Any],
                     collections: list[str] | None = None) -> None:
        await audit.insert_audit(conn=conn, actor=by, action=action, target=target, detail=detail,
                                 request_id=current_request_id(), collections=collections)

    async def _user(self, conn: Conn, username: str, *, lock: bool = False) -> users.UserRow:
        row = await users.get_user(conn=conn, username=username_of(username), lock=lock)
        if row is None:
            raise NotFound(f"no user {username!r}")
        return row

    async def _group(self, conn: Conn, name: str) -> dict[str, Any]:
        row = await users.get_group(conn=conn, name=group_name_of(name))
        if row is None:
            raise NotFound(f"no group {name!r}")
        return row

    # -- principals -------------------------------------------------------------------------

    async def grants_of(self, conn: Conn, user_id: uuid.UUID) -> dict[str, Role]:
        return strongest(await users.effective_grants(conn=conn, user_id=user_id))

    async def user_principal(self, conn: Conn, user_id: uuid.UUID, *, issued_at: float | None = None,
                             **more: Any) -> Principal:
        """The user as a caller with its grants now, or Unauthenticated when the user is gone,
        disabled, or the credential was issued before its sessions were ended."""
        row = await users.get_user(conn=conn, user_id=user_id)
        if row is None:
            raise Unauthenticated("the user this credential belongs to no longer exists")
        if row["disabled_at"] is not None:
            raise Unauthenticated(f"user {row['username']!r} is disabled; ask an administrator")
        if issued_at is not None and issued_at < row["sessions_valid_after"].timestamp():
            raise Unauthenticated("this session has ended (password changed or signed out everywhere); sign in again")
        return Principal.of_grants(subject=f"user:{row['username']}", grants=await self.grants_of(conn, user_id),
                                   user_id=str(user_id), issued_at=issued_at, **more)

    # -- users ------------------------------------------------------------------------------

    async def create_user(self, *, username: str, password: str | None, display_name: str = "",
                          email: str | None = None, actor: str) -> users.UserRow:
        name = username_of(username)
        if password is not None:
            self.check_password(password, name)
        hashed = await hash_password(password) if password is not None else None
        async with self._db.connection() as conn, conn.transaction():
            if await users.get_user(conn=conn, username=name) is not None:
                raise Conflict(f"user {name!r} already exists")
            row = await users.insert_user(conn=conn, username=name, display_name=display_name,
                                          email=await self._cipher.seal(email), password_hash=hashed, source="local",
                                          external_id=None, created_by=actor)
            await self._audit(conn, by=actor, action="user.create", target=name,
                              detail={"display_name": display_name, "password": hashed is not None})
        return row

    async def list_users(self) -> list[dict[str, Any]]:
        async with self._db.connection() as conn:
            rows = await users.list_users(conn=conn)
            out = []
            for row in rows:
                item: dict[str, Any] = {k: v for k, v in row.items() if k != "password_hash"}
                item["email"] = await self._cipher.open(row["email"])
                item["has_password"] = row["password_hash"] is not None
                item["groups"] = [g["name"] for g in await users.user_groups(conn=conn, user_id=row["user_id"])]
                item["grants"] = {c: r.value for c, r in (await self.grants_of(conn, row["user_id"])).items()}
                out.append(item)
            return out

    async def set_enabled(self, *, username: str, enabled: bool, actor: str) -> None:
        async with self._db.connection() as conn, conn.transaction():
            had = await self.lock_administrators(conn)
            row = await self._user(conn, username, lock=True)
            await users.update_user(conn=conn, user_id=row["user_id"],
                                    disabled_at=None if enabled else datetime.now(UTC))
            if not enabled:
                await users.end_sessions(conn=conn, user_id=row["user_id"])
                await self.ensure_an_administrator(conn, had)
            await self._audit(conn, by=actor, action="user.enable" if enabled else "user.disable",
                              target=row["username"], detail={})

    async def delete_user(self, *, username: str, actor: str) -> None:
        async with self._db.connection() as conn, conn.transaction():
            had = await self.lock_administrators(conn)
            row = await self._user(conn, username, lock=True)
            await users.delete_user(conn=conn, user_id=row["user_id"])
            await self.ensure_an_administrator(conn, had)
            await self._audit(conn, by=actor, action="user.delete", target=row["username"], detail={})

    async def unlock(self, *, username: str, actor: str) -> None:
        async with self._db.connection() as conn, conn.transaction():
            row = await self._user(conn, username, lock=True)
            await users.update_user(conn=conn, user_id=row["user_id"], locked_until=None, failed_sign_ins=0)
            await self._audit(conn, by=actor, action="user.unlock", target=row["username"], detail={})

    async def reset_password(self, *, username: str, password: str, actor: str) -> None:
        """An administrator sets a new password; every session of the user ends."""
        async with self._db.connection() as conn:
            row = await self._user(conn, username)
        if row["source"] != "local":
            raise ValidationFailed(f"{row['username']!r} signs in through {row['source']}; "
                                   "change the password in the directory")
        self.check_password(password, row["username"])
        hashed = await hash_password(password)
        async with self._db.connection() as conn, conn.transaction():
            await users.update_user(conn=conn, user_id=row["user_id"], password_hash=hashed, failed_sign_ins=0,
                                    locked_until=None)
            await users.end_sessions(conn=conn, user_id=row["user_id"])
            await self._audit(conn, by=actor, action="user.password_reset", target=row["username"], detail={})

    async def change_password(self, *, principal: Principal, current: str, new: str) -> Principal:
        """The signed-in user changes its own password: every earlier session ends; the caller
        gets a principal to issue a fresh session for."""
        if principal.user_id is None:
            raise ValidationFailed("only a user can change a password; this credential is an API key without a user")
        async with self._db.connection() as conn:
            row = await users.get_user(conn=conn, user_id=uuid.UUID(principal.user_id))
        if row is None or row["source"] != "local":
            raise ValidationFailed("this user signs in through a directory; change the password there")
        if not await password_matches(row["password_hash"], current):
            raise Forbidden("the current password is not right")
        if current == new:
            raise ValidationFailed("the new password must differ from the current one")
        self.check_password(new, row["username"])
        hashed = await hash_password(new)
        async with self._db.connection() as conn, conn.transaction():
            await users.update_user(conn=conn, user_id=row["user_id"], password_hash=hashed)
            await users.end_sessions(conn=conn, user_id=row["user_id"])
            await self._audit(conn, by=principal.subject, action="user.password_change", target=row["username"],
                              detail={})
        async with self._db.connection() as conn:
            return await self.user_principal(conn, row["user_id"], credential="token")

    # -- sign-in ----------------------------------------------------------------------------

    async def source_of(self, username: str) -> str | None:
        """Where the user comes from (local, ldap, oidc), or None for an unknown or invalid name."""
        try:
            name = username_of(username)
        except ValidationFailed:
            return None
        async with self._db.connection() as conn:
            row = await users.get_user(conn=conn, username=name)
        return None if row is None else row["source"]

    async def sign_in(self, *, username: str, password: str) -> Principal:
        """A user with this password, or Unauthenticated (the same answer for an unknown user and a
        wrong password), or AccountLocked after `lockout_threshold` failures in a row."""
        try:
            name = username_of(username)
        except ValidationFailed:
            await password_matches(None, password)
            raise Unauthenticated(SIGN_IN_REFUSED) from None
        async with self._db.connection() as conn:
            row = await users.get_user(conn=conn, username=name)
        if row is not None and row["locked_until"] is not None and row["locked_until"] > datetime.now(UTC):
            raise self._locked(row)
        ok = await password_matches(row["password_hash"] if row else None, password)
        if row is None:
            raise Unauthenticated(SIGN_IN_REFUSED)
        async with self._db.connection() as conn, conn.transaction():
            if not ok:
                after = await users.record_failure(conn=conn, user_id=row["user_id"],
                                                   threshold=self._settings.lockout_threshold,
                                                   lock_minutes=self._settings.lockout_minutes)
                locked = after["locked_until"] is not None and after["locked_until"] > datetime.now(UTC)
                await self._audit(conn, by=f"user:{name}", action="user.sign_in_failed", target=name,
                                  detail={"locked": locked})
            else:
                await users.record_success(conn=conn, user_id=row["user_id"])
                await self._audit(conn, by=f"user:{name}", action="user.sign_in", target=name,
                                  detail={"source": "password"})
        if not ok:
            if locked:
                raise self._locked(after)
            raise Unauthenticated(SIGN_IN_REFUSED)
        async with self._db.connection() as conn:
            return await self.user_principal(conn, row["user_id"], credential="token")

    def _locked(self, row: users.UserRow) -> AccountLocked:
        until = row["locked_until"]
        assert until is not None  # noqa: S101 - only called for a locked row
        left = max(1, int((until - datetime.now(UTC)).total_seconds()))
        return AccountLocked(
            f"account {row['username']!r} is locked after {self._settings.lockout_threshold} failed sign-ins "
            f"in a row, until {until.astimezone(UTC):%H:%M} UTC (in {(left + 59) // 60} min); "
            f"an administrator can unlock it now with `sutazai users unlock {row['username']}`", retry_after=left)

    async def directory_sign_in(self, found: Directory) -> Principal:
        """A person a directory vouched for: created on first sign-in, its membership of mapped
        groups made to match the directory's groups now."""
        name = username_of(found.username)
        async with self._db.connection() as conn, conn.transaction():
            row = await users.get_external_user(conn=conn, source=found.provider, external_id=found.external_id)
            if row is None:
                clash = await users.get_user(conn=conn, username=name)
                if clash is not None:
                    raise Conflict(f"a user named {name!r} already exists and does not come from {found.provider}; "
                                   "an administrator must rename or delete it first")
                row = await users.insert_user(conn=conn, username=name, display_name=found.display_name,
                                              email=await self._cipher.seal(found.email), password_hash=None,
                                              source=found.provider,
                                              external_id=found.external_id, created_by=found.provider)
                await self._audit(conn, by=found.provider, action="user.create", target=name,
                                  detail={"source": found.provider})
            if row["disabled_at"] is not None:
                raise Unauthenticated(f"user {row['username']!r} is disabled; ask an administrator")
            await users.update_user(conn=conn, user_id=row["user_id"], display_name=found.display_name,
                                    email=await self._cipher.seal(found.email))
            await users.sync_directory_groups(conn=conn, user_id=row["user_id"], provider=found.provider,
                                              external_groups=[g.lower() for g in found.groups])
            await users.record_success(conn=conn, user_id=row["user_id"])
            await self._audit(conn, by=f"user:{row['username']}", action="user.sign_in", target=row["username"],
                              detail={"source": found.provider, "directory_groups": found.groups[:50]})
            return await self.user_principal(conn, row["user_id"], credential="token")

    # -- groups -----------------------------------------------------------------------------

    async def create_group(self, *, name: str, description: str, actor: str) -> dict[str, Any]:
        group = group_name_of(name)
        async with self._db.connection() as conn, conn.transaction():
            if await users.get_group(conn=conn, name=group) is not None:
                raise Conflict(f"group {group!r} already exists")
            row = await users.insert_group(conn=conn, name=group, description=description, created_by=actor)
            await self._audit(conn, by=actor, action="group.create", target=group, detail={"description": description})
        return row

    async def list_groups(self) -> list[dict[str, Any]]:
        async with self._db.connection() as conn:
            return await users.list_groups(conn=conn)

    async def delete_group(self, *, name: str, actor: str) -> None:
        async with self._db.connection() as conn, conn.transaction():
            had = await self.lock_administrators(conn)
            row = await self._group(conn, name)
            await users.delete_group(conn=conn, group_id=row["group_id"])
            await self.ensure_an_administrator(conn, had)
            await self._audit(conn, by=actor, action="group.delete", target=row["name"], detail={})

    async def set_member(self, *, group: str, username: str, member: bool, actor: str) -> None:
        async with self._db.connection() as conn, conn.transaction():
            had = await self.lock_administrators(conn)
            found, user = await self._group(conn, group), await self._user(conn, username)
            if member:
                await users.add_member(conn=conn, group_id=found["group_id"], user_id=user["user_id"])
            elif not await users.remove_member(conn=conn, group_id=found["group_id"], user_id=user["user_id"]):
                raise NotFound(f"{user['username']!r} is not a member of {found['name']!r}")
            await self.ensure_an_administrator(conn, had)
            await self._audit(conn, by=actor, action="group.add_member" if member else "group.remove_member",
                              target=found["name"], detail={"user": user["username"]})

    # -- grants -----------------------------------------------------------------------------

    async def _grantee(self, conn: Conn, *, user: str | None, group: str | None) -> tuple[uuid.UUID | None,
                                                                                          uuid.UUID | None, str]:
        if (user is None) == (group is None):
            raise ValidationFailed("name exactly one grantee: a user or a group")
        if user is not None:
            row = await self._user(conn, user)
            return row["user_id"], None, f"user:{row['username']}"
        found = await self._group(conn, group or "")
        return None, found["group_id"], f"group:{found['name']}"

    @staticmethod
    def _may_grant(by: Principal, collection: str) -> None:
        scope = None if collection == EVERY_COLLECTION else [collection]
        if not by.administers(scope):
            where = "every collection" if scope is None else f"collection {collection!r}"
            raise Forbidden(f"granting on {where} needs an admin of it; your credential is not")

    async def grant(self, *, by: Principal, user: str | None, group: str | None, collection: str,
                    role: Role) -> None:
        target = grant_target(collection)
        self._may_grant(by, target)
        async with self._db.connection() as conn, conn.transaction():
            had = await self.lock_administrators(conn)
            user_id, group_id, grantee = await self._grantee(conn, user=user, group=group)
            await users.set_grant(conn=conn, user_id=user_id, group_id=group_id, collection=target,
                                  role=role.value, granted_by=by.subject)
            await self.ensure_an_administrator(conn, had)
            await self._audit(conn, by=by.subject, action="grant.set", target=grantee,
                              detail={"collection": target, "role": role.value},
                              collections=None if target == EVERY_COLLECTION else [target])

    async def revoke_grant(self, *, by: Principal, user: str | None, group: str | None, collection: str) -> None:
        target = grant_target(collection)
        self._may_grant(by, target)
        async with self._db.connection() as conn, conn.transaction():
            had = await self.lock_administrators(conn)
            user_id, group_id, grantee = await self._grantee(conn, user=user, group=group)
            removed = await users.delete_grant(conn=conn, user_id=user_id, group_id=group_id, collection=target)
            if removed is None:
                raise NotFound(f"{grantee} holds no grant on {target!r}")
            await self.ensure_an_administrator(conn, had)
            await self._audit(conn, by=by.subject, action="grant.revoke", target=grantee,
                              detail={"collection": target, "role": removed["role"]},
                              collections=None if target == EVERY_COLLECTION else [target])

    async def list_grants(self, *, by: Principal) -> list[dict[str, Any]]:
        """Every grant for an admin of every collection; else the grants on collections it administers."""
        async with self._db.connection() as conn:
            rows = await users.list_grants(conn=conn)
        return [row for row in rows if by.administers(None if row["collection"] == EVERY_COLLECTION
                                                      else [row["collection"]])]

    # -- directory mappings -----------------------------------------------------------------

    async def map_group(self, *, provider: str, external_group: str, group: str, mapped: bool, actor: str) -> None:
        if provider not in PROVIDERS:
            raise ValidationFailed(f"provider must be one of {', '.join(PROVIDERS)}")
        external = external_group.strip().lower()
        if not external or len(external) > 500:
            raise ValidationFailed("the directory group must be 1-500 characters (an LDAP DN or an OIDC group)")
        async with self._db.connection() as conn, conn.transaction():
            found = await self._group(conn, group)
            if mapped:
                await users.set_mapping(conn=conn, provider=provider, external_group=external,
                                        group_id=found["group_id"], created_by=actor)
            elif not await users.delete_mapping(conn=conn, provider=provider, external_group=external,
                                                group_id=found["group_id"]):
                raise NotFound(f"{provider} group {external!r} is not mapped to {found['name']!r}")
            await self._audit(conn, by=actor, action="group.map" if mapped else "group.unmap", target=found["name"],
                              detail={"provider": provider, "external_group": external})

    async def list_mappings(self) -> list[dict[str, Any]]:
        async with self._db.connection() as conn:
            return await users.list_mappings(conn=conn)
