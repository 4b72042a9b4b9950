"""The identity functions published for the CLI: how the first admin key is made, straight in
the identity database (before any service runs, so there is no key yet to call the API with)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sutazai.identity.accounts import Accounts
from sutazai.identity.audit_chain import Verification
from sutazai.identity.credentials import CredentialBook, IssuedKey
from sutazai.identity.store import MIGRATIONS, SCHEMA
from sutazai.lib import migrations
from sutazai.lib.access import Principal, Role
from sutazai.lib.db import Database

T = TypeVar("T")


async def create_key(dsn: str, *, role: Role, name: str, collections: list[str], actor: str = "cli") -> IssuedKey:
    """Migrate identity's schema to head, then issue an API key (audited as `actor`)."""
    await asyncio.to_thread(migrations.upgrade, dsn=dsn, schema=SCHEMA, script_location=MIGRATIONS)
    db = Database(dsn, max_size=1)
    await db.open(timeout=15)
    try:
        return await CredentialBook(db=db, codec=None).create_key(
            name=name, role=role, collections=collections, actor=actor)
    finally:
        await db.close()


async def verify_audit(dsn: str, *, expected_head: str | None = None) -> Verification:
    """Check the audit log's hash chain straight in the identity database."""
    db = Database(dsn, max_size=1)
    await db.open(timeout=15)
    try:
        return await CredentialBook(db=db, codec=None).verify_audit(expected_head=expected_head)
    finally:
        await db.close()


async def export_audit(dsn: str, write: Callable[[str], object]) -> int:
    """Write every audit entry as one JSON line, oldest first; returns how many."""
    db = Database(dsn, max_size=1)
    await db.open(timeout=15)
    count = 0
    try:
        async for row in CredentialBook(db=db, codec=None).audit_entries():
            write(json.dumps(row, default=str, sort_keys=True) + "\n")
            count += 1
    finally:
        await db.close()
    return count


OPERATOR = Principal(subject="cli", role=Role.admin, credential="cli")
"""The operator at the host's CLI: administers every collection (it can reach the database)."""


async def with_accounts(dsn: str, work: Callable[[Accounts], Awaitable[T]]) -> T:
    """Migrate identity's schema to head, then run `work` on the users, groups and grants."""
    await asyncio.to_thread(migrations.upgrade, dsn=dsn, schema=SCHEMA, script_location=MIGRATIONS)
    db = Database(dsn, max_size=1)
    await db.open(timeout=15)
    try:
        return await work(Accounts(db=db))
    finally:
        await db.close()
