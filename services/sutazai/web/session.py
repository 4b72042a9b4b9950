"""Browser sessions: an API key is exchanged at the identity service for a short-lived bearer
token, which the browser keeps only as an HttpOnly cookie (never readable by scripts, never in
a URL or in local storage)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sutazai.lib.contracts.identity import PREFIX as IDENTITY
from sutazai.lib.errors import (
    AccountLocked,
    DependencyUnavailable,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from sutazai.lib.http_client import ResilientClient
from sutazai.lib.security import API_KEY_PREFIX

TOKENS_PATH = f"{IDENTITY}/tokens"
SESSIONS_PATH = f"{IDENTITY}/sessions"
PASSWORD_PATH = f"{IDENTITY}/password"  # noqa: S105 - a path, not a secret
WHOAMI_PATH = f"{IDENTITY}/whoami"


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

    async def sign_in_user(self, username: str, password: str) -> SignedIn:
        """A user name and password (a local account, or the directory's when LDAP is set up)."""
        issued = await self._call("POST", SESSIONS_PATH, None, json={"username": username, "password": password})
        token = str(issued["access_token"])
        return SignedIn(token=token, expires_in=int(issued["expires_in"]), who=await self.who(token))

    async def change_password(self, token: str, current: str, new: str) -> SignedIn:
        """The session's user changes its password; identity ends every earlier session and the
        browser gets a fresh one."""
        issued = await self._call("PUT", PASSWORD_PATH, token, json={"current_password": current,
                                                                    "new_password": new})
        fresh = str(issued["access_token"])
        return SignedIn(token=fresh, expires_in=int(issued["expires_in"]), who=await self.who(fresh))

    async def providers(self) -> list[dict[str, Any]]:
        response = await self._identity.request("GET", f"{IDENTITY}/sso/providers")
        if response.status_code != 200:
            raise DependencyUnavailable(f"identity service answered {response.status_code}")
        found: list[dict[str, Any]] = response.json()
        return found

    async def oidc_start(self, redirect_uri: str) -> str:
        return str((await self._call("POST", f"{IDENTITY}/sso/oidc/authorize", None,
                                     json={"redirect_uri": redirect_uri}))["authorization_url"])

    async def oidc_finish(self, code: str, state: str) -> SignedIn:
        issued = await self._call("POST", f"{IDENTITY}/sso/oidc/callback", None,
                                  json={"code": code, "state": state})
        token = str(issued["access_token"])
        return SignedIn(token=token, expires_in=int(issued["expires_in"]), who=await self.who(token))

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

    async def _call(self, method: str, path: str, credential: str | None, json: Any = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        response = await self._identity.request(method, path, headers=headers, json=json)
        detail = response.json().get("detail") if response.status_code >= 400 else None
        retry = int(response.headers.get("retry-after") or 60)
        if response.status_code == 401:
            raise Unauthenticated(detail or "the credential was refused")
        if response.status_code == 403:
            raise Forbidden(detail or "identity refused")
        if response.status_code == 422:
            raise ValidationFailed(detail or "identity refused to issue a token")
        if response.status_code == 423:
            raise AccountLocked(detail or "the account is locked", retry_after=retry)
        if response.status_code == 404:
            raise NotFound(detail or "not found")
        if response.status_code == 429:
            raise RateLimited(detail or "too many attempts", retry_after=retry)
        if response.status_code != 200:
            raise DependencyUnavailable(f"identity service answered {response.status_code}")
        body: dict[str, Any] = response.json()
        return body
