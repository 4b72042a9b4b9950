"""Vault (or OpenBao) access with AppRole: each service reads only its own secrets."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class VaultError(RuntimeError):
    """Vault was configured but its secrets could not be read."""


def _read_file(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise VaultError(f"cannot read the Vault {what} file {path}: {exc.strerror}") from exc


def read_service_secrets(env: dict[str, str]) -> dict[str, Any]:
    """Log in with the service's AppRole and return the KV v2 secret at sutazai/<service>.

    Returns an empty dict when Vault is not configured (embedded mode reads the environment).
    """
    addr = env.get("SUTAZAI_VAULT_ADDR")
    role_file = env.get("SUTAZAI_VAULT_ROLE_ID_FILE")
    secret_file = env.get("SUTAZAI_VAULT_SECRET_ID_FILE")
    service = env.get("SUTAZAI_SERVICE_NAME", "")
    if not addr or not role_file or not secret_file:
        return {}
    if not service:
        raise VaultError("SUTAZAI_SERVICE_NAME must name the service whose secrets to read")
    import hvac
    import hvac.exceptions

    mount = env.get("SUTAZAI_VAULT_MOUNT", "secret")
    client = hvac.Client(url=addr, timeout=10)
    try:
        client.auth.approle.login(
            role_id=_read_file(role_file, "role id"),
            secret_id=_read_file(secret_file, "secret id"),
        )
        response = client.secrets.kv.v2.read_secret_version(
            path=f"sutazai/{service}", mount_point=mount, raise_on_deleted_version=True
        )
    except hvac.exceptions.VaultDown as exc:
        raise VaultError(f"Vault at {addr} is sealed, so {service} cannot read its secrets: unseal it "
                         f"(`docker compose run --rm vault-init` unseals with the key it keeps, or `vault operator "
                         f"unseal`); {service} then starts by itself") from exc
    except (hvac.exceptions.VaultError, OSError) as exc:
        raise VaultError(f"reading secrets for {service} from Vault at {addr} failed: {exc}") from exc
    data: dict[str, Any] = response["data"]["data"]
    logger.info("loaded %d secrets for %s from Vault", len(data), service)
    return {key.lower(): value for key, value in data.items()}
