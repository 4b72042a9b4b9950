"""Browser sessions: an API key is exchanged at the identity service for a short-lived bearer
token, which the browser keeps only as an HttpOnly cookie (never readable by scripts, never in
a URL or in local storage)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sutazai.lib.errors import DependencyUnavailable, Unauthenticated, ValidationFailed
from sutazai.lib.http_client import ResilientClient
from sutazai.lib.security import API_KEY_PREFIX

TOKENS_PATH = "/api/identity/v1/tokens"
WHOAMI_PATH = "/api/identity/v1/whoami"


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_in: int
    who: dict[str, Any]


class SessionBroker:
    """Signs browsers in and tells who a session belongs to, by asking identity."""

    def __init__(self, identity: ResilientClient) -> None:
        self._identity = identity

    async def sign_in(self, api_key: str) -> SignedIn:
        key = api_key.strip()
        if not key.startswith(f"{API_KEY_PREFIX}_"):
            raise ValidationFailed(f"that is not a SutazAI API key: keys start with '{API_KEY_PREFIX}_' "
                                   "(ask an admin for one, or run `sutazai admin create-key`)")
        issued = await self._call("POST", TOKENS_PATH, key)
        token = str(issued["access_token"])
        return SignedIn(token=token, expires_in=int(issued["expires_in"]),
                        who=await self.who(token))

    async def check_identity(self) -> None:
        """Raise unless identity's liveness probe answers 200 (the web service's readiness)."""
        status = (await self._identity.request("GET", "/api/identity/healthz")).status_code
        if status != 200:
            raise DependencyUnavailable(f"identity answered {status}")

    async def sign_out(self, token: str) -> None:
        """Revoke the session's token at identity; one already ended or revoked needs nothing."""
        response = await self._identity.request("DELETE", f"{TOKENS_PATH}/current",
                                                headers={"Authorization": f"Bearer {token}"})
        if response.status_code not in (204, 401):
            raise DependencyUnavailable(f"identity did not sign the session out (it answered "
                                        f"{response.status_code}); try again")

    async def who(self, token: str) -> dict[str, Any]:
        return await self._call("GET", WHOAMI_PATH, token)

    async def _call(self, method: str, path: str, credential: str) -> dict[str, Any]:
        response = await self._identity.request(method, path, headers={"Authorization": f"Bearer {credential}"})
        if response.status_code == 401:
            raise Unauthenticated(response.json().get("detail") or "the credential was refused")
        if response.status_code == 422:
            raise ValidationFailed(response.json().get("detail") or "identity refused to issue a token")
        if response.status_code != 200:
            raise DependencyUnavailable(f"identity service answered {response.status_code}")
        body: dict[str, Any] = response.json()
        return body
