"""Records a security-relevant action in identity's hash-chained audit log, as the caller (with
the caller's own credential), before the action takes effect: when identity cannot record it,
the action does not happen (503)."""

from __future__ import annotations

from typing import Any

from sutazai.lib.contracts import identity as identity_contract
from sutazai.lib.errors import DependencyUnavailable, Forbidden, Unauthenticated
from sutazai.lib.http_client import ResilientClient

AUDIT_PATH = identity_contract.AUDIT


class AuditClient:
    def __init__(self, client: ResilientClient) -> None:
        self._client = client

    async def record(self, *, credential: str | None, action: str, target: str | None = None,
                     detail: dict[str, Any] | None = None, collections: list[str] | None = None) -> None:
        if credential is None:
            raise Unauthenticated("this action is audited and needs the caller's credential")
        response = await self._client.request(
            "POST", AUDIT_PATH, headers={"Authorization": f"Bearer {credential}"},
            json={"action": action, "target": target, "detail": detail or {}, "collections": collections or []})
        if response.status_code == 201:
            return
        if response.status_code == 401:
            raise Unauthenticated(response.json().get("detail") or "the credential was refused")
        if response.status_code == 403:
            raise Forbidden(response.json().get("detail") or "the audit log refused the entry")
        raise DependencyUnavailable(f"the audit log could not record {action} (identity answered "
                                    f"{response.status_code}); nothing was changed")
