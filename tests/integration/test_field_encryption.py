"""Sensitive stored fields encrypted with the transit engine of a real OpenBao server (Vault's
API), set up by vault/init.sh as in Compose: ciphertext in PostgreSQL, plaintext through the
service, each service's key usable only by that service, key rotation without rewriting rows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import hvac
import psycopg
import pytest

from sutazai.lib.errors import DependencyUnavailable
from sutazai.lib.field_crypto import PlainFields, TransitFields, field_cipher
from tests.integration.conftest import Platform, fresh_database
from tests.integration.test_vault_init import openbao, run_init  # noqa: F401 - the OpenBao server fixture


def env_for(url: str, out: Path, service: str) -> dict[str, str]:
    return {"SUTAZAI_VAULT_ADDR": url, "SUTAZAI_VAULT_ROLE_ID_FILE": str(out / service / "role_id"),
            "SUTAZAI_VAULT_SECRET_ID_FILE": str(out / service / "secret_id")}


def test_transit_encryption_per_service_with_rotation(openbao: str, tmp_path: Path) -> None:  # noqa: F811
    assert run_init(openbao, tmp_path).returncode == 0
    identity = field_cipher(env_for(openbao, tmp_path, "identity"), "identity")
    learning = field_cipher(env_for(openbao, tmp_path, "learning"), "learning")
    assert isinstance(identity, TransitFields) and isinstance(learning, TransitFields)
    assert isinstance(field_cipher({}, "identity"), PlainFields)  # the embedded stack: no Vault

    async def scenario() -> None:
        sealed = await identity.seal("alice@example.org")
        assert sealed is not None and sealed.startswith("vault:v1:") and "alice" not in sealed
        assert await identity.open(sealed) == "alice@example.org"
        assert await identity.open("written before encryption") == "written before encryption"
        assert await identity.seal(None) is None
        with pytest.raises(DependencyUnavailable, match="transit"):  # learning's AppRole cannot use identity's key
            await learning.open(sealed)
        with pytest.raises(DependencyUnavailable, match="no Vault configured"):
            await PlainFields().open(sealed)

        hvac.Client(url=openbao, token="root-token").secrets.transit.rotate_key(name="sutazai-identity")
        assert await identity.open(sealed) == "alice@example.org"  # old rows still read
        newer = await identity.seal("alice@example.org")
        assert newer is not None and newer.startswith("vault:v2:")

    asyncio.run(scenario())


def test_user_email_is_ciphertext_in_postgres(openbao: str, tmp_path: Path, platform: Platform) -> None:  # noqa: F811
    from sutazai.identity.accounts import Accounts
    from sutazai.identity.store import MIGRATIONS, SCHEMA
    from sutazai.lib import migrations
    from sutazai.lib.db import Database

    assert run_init(openbao, tmp_path).returncode == 0
    dsn = fresh_database(platform.backends, "transit")
    migrations.upgrade(dsn=dsn, schema=SCHEMA, script_location=MIGRATIONS)

    async def scenario() -> list[dict[str, object]]:
        db = Database(dsn, max_size=2)
        await db.open(timeout=15)
        try:
            accounts = Accounts(db=db, cipher=field_cipher(env_for(openbao, tmp_path, "identity"), "identity"))
            await accounts.create_user(username="grace", password="a long enough passphrase",
                                       email="grace@example.org", actor="test")
            return await accounts.list_users()
        finally:
            await db.close()

    listed = asyncio.run(scenario())
    assert listed[0]["email"] == "grace@example.org"
    with psycopg.connect(dsn) as conn:
        stored = conn.execute("SELECT email FROM identity.users WHERE username = 'grace'").fetchone()
    assert stored is not None and stored[0].startswith("vault:v") and "grace" not in stored[0]
