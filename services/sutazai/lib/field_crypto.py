"""Encryption of sensitive stored fields (people's e-mail addresses, free-text feedback) with
Vault's transit engine: the key never leaves Vault, PostgreSQL holds only `vault:vN:...`
ciphertext, a stolen database dump or backup reveals nothing of those fields, and the key can be
rotated in Vault without touching the rows (older versions still decrypt).

In Compose each service has its own transit key (`sutazai-<service>`), usable only by its own
AppRole (vault/policies). The embedded stack has no Vault: fields are stored as written, which
`FieldCipher.describe` says (readiness and docs). Rows written before encryption was switched on
are read as they are."""

from __future__ import annotations

import base64
import logging
import threading
from pathlib import Path
from typing import Protocol

import anyio

from sutazai.lib.errors import DependencyUnavailable

logger = logging.getLogger(__name__)
CIPHERTEXT_PREFIX = "vault:v"


class FieldCipher(Protocol):
    describe: str

    async def seal(self, plaintext: str | None) -> str | None: ...

    async def open(self, stored: str | None) -> str | None: ...


class PlainFields:
    """No Vault (the embedded stack): fields are stored as written."""

    describe = "stored as written (no Vault transit engine configured)"

    async def seal(self, plaintext: str | None) -> str | None:
        return plaintext

    async def open(self, stored: str | None) -> str | None:
        if stored is not None and stored.startswith(CIPHERTEXT_PREFIX):
            raise DependencyUnavailable("this field is encrypted with Vault's transit engine, but this service "
                                        "has no Vault configured (SUTAZAI_VAULT_ADDR)", retry_after=60)
        return stored


class TransitFields:
    """Encrypts with a Vault (or OpenBao) transit key, logging in with the service's AppRole and
    logging in again when its token expires."""

    def __init__(self, *, url: str, role_id_file: str, secret_id_file: str, key: str, mount: str = "transit") -> None:
        self._url, self._role_file, self._secret_file = url, role_id_file, secret_id_file
        self._key, self._mount = key, mount
        self._client: object | None = None
        self._lock = threading.Lock()
        self.describe = f"encrypted with Vault transit key {key!r} at {url}"

    def _login(self) -> object:
        import hvac

        client = hvac.Client(url=self._url, timeout=10)
        client.auth.approle.login(role_id=Path(self._role_file).read_text(encoding="utf-8").strip(),
                                  secret_id=Path(self._secret_file).read_text(encoding="utf-8").strip())
        return client

    def _call(self, operation: str, value: str) -> str:
        import hvac.exceptions

        for attempt in (1, 2):
            with self._lock:
                if self._client is None:
                    self._client = self._login()
                client = self._client
            transit = client.secrets.transit  # type: ignore[attr-defined]
            try:
                if operation == "encrypt":
                    answer = transit.encrypt_data(name=self._key, mount_point=self._mount,
                                                  plaintext=base64.b64encode(value.encode()).decode())
                    return str(answer["data"]["ciphertext"])
                answer = transit.decrypt_data(name=self._key, mount_point=self._mount, ciphertext=value)
                return base64.b64decode(answer["data"]["plaintext"]).decode()
            except hvac.exceptions.Forbidden:
                if attempt == 2:
                    raise
                with self._lock:  # the token expired (or was revoked): log in again once
                    self._client = None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run(self, operation: str, value: str) -> str:
        import hvac.exceptions

        try:
            return await anyio.to_thread.run_sync(self._call, operation, value)
        except hvac.exceptions.VaultDown as exc:
            raise DependencyUnavailable(
                "Vault is sealed, so stored fields cannot be encrypted or read: unseal it (`docker compose run --rm "
                "vault-init` unseals with the key it keeps, or `vault operator unseal`)") from exc
        except (hvac.exceptions.VaultError, OSError) as exc:  # requests' errors are OSErrors
            raise DependencyUnavailable(f"Vault's transit engine did not {operation} a stored field: {exc}") from exc

    async def seal(self, plaintext: str | None) -> str | None:
        return None if plaintext is None else await self._run("encrypt", plaintext)

    async def open(self, stored: str | None) -> str | None:
        if stored is None or not stored.startswith(CIPHERTEXT_PREFIX):
            return stored  # written before encryption was switched on
        return await self._run("decrypt", stored)


def field_cipher(env: dict[str, str], service: str) -> FieldCipher:
    """Transit encryption when the service logs in to Vault with an AppRole (Compose) and
    SUTAZAI_VAULT_TRANSIT is not 'off'; else fields are stored as written."""
    addr, role, secret = (env.get(f"SUTAZAI_VAULT_{n}") for n in ("ADDR", "ROLE_ID_FILE", "SECRET_ID_FILE"))
    if not addr or not role or not secret or env.get("SUTAZAI_VAULT_TRANSIT", "on") == "off":
        return PlainFields()
    key = env.get("SUTAZAI_VAULT_TRANSIT_KEY") or f"sutazai-{service}"
    cipher = TransitFields(url=addr, role_id_file=role, secret_id_file=secret, key=key,
                           mount=env.get("SUTAZAI_VAULT_TRANSIT_MOUNT", "transit"))
    logger.info("sensitive fields of %s: %s", service, cipher.describe)
    return cipher
