"""The identity functions published for the CLI: how the first admin key is made, straight in
the identity database (before any service runs, so there is no key yet to call the API with)."""

from __future__ import annotations

import asyncio

from sutazai.identity.core import IdentityCore, IssuedKey
from sutazai.identity.store import MIGRATIONS, SCHEMA
from sutazai.lib import migrations
from sutazai.lib.access import Role
from sutazai.lib.db import Database


async def create_key(dsn: str, *, role: Role, name: str, collections: list[str], actor: str = "cli") -> IssuedKey:
    """Migrate identity's schema to head, then issue an API key (audited as `actor`)."""
    await asyncio.to_thread(migrations.upgrade, dsn=dsn, schema=SCHEMA, script_location=MIGRATIONS)
    db = Database(dsn, max_size=1)
    await db.open(timeout=15)
    try:
        return await IdentityCore(db=db, codec=None).create_key(
            name=name, role=role, collections=collections, actor=actor)
    finally:
        await db.close()
