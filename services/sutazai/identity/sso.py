"""Single sign-on: LDAP (ldap3) and OpenID Connect (authlib). Each turns what a directory says
about a person into a `Directory` record; `Accounts.directory_sign_in` does the rest (user
created on first sign-in, mapped groups synchronised at every sign-in).

The directory servers are the organisation's own (set by the operator); nothing here reaches any
other address."""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import jwt
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from ldap3 import BASE, SUBTREE, Connection, Server
from ldap3.core.exceptions import LDAPBindError, LDAPException, LDAPInvalidCredentialsResult
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from sutazai.identity.accounts import Directory
from sutazai.lib.errors import DependencyUnavailable, Unauthenticated, ValidationFailed

STATE_TTL_SECONDS = 600


@dataclass(frozen=True)
class LdapConfig:
    url: str
    user_dn_template: str
    group_base: str | None
    group_filter: str
    timeout_seconds: float


class Ldap:
    """Binds as the user (the directory checks the password), then reads its entry and groups."""

    def __init__(self, config: LdapConfig) -> None:
        if "{username}" not in config.user_dn_template:
            raise ValueError("SUTAZAI_LDAP_USER_DN_TEMPLATE must contain {username}")
        self._config = config

    async def authenticate(self, username: str, password: str) -> Directory:
        if not password:  # an empty password is an unauthenticated bind, which LDAP accepts: never a sign-in
            raise Unauthenticated("user name or password is not valid")
        return await anyio.to_thread.run_sync(self._authenticate, username, password)

    def _authenticate(self, username: str, password: str) -> Directory:
        config = self._config
        dn = config.user_dn_template.format(username=escape_rdn(username))
        server = Server(config.url, connect_timeout=config.timeout_seconds)
        conn = Connection(server, user=dn, password=password, receive_timeout=math.ceil(config.timeout_seconds),
                          raise_exceptions=True, read_only=True)
        try:
            conn.bind()
        except (LDAPBindError, LDAPInvalidCredentialsResult):
            conn.unbind()
            raise Unauthenticated("user name or password is not valid") from None
        except LDAPException as exc:
            conn.unbind()
            raise DependencyUnavailable(f"the LDAP directory did not answer: {exc}") from None
        try:
            conn.search(dn, "(objectClass=*)", search_scope=BASE,
                        attributes=["cn", "displayName", "mail", "uid", "entryUUID"])
            entry = conn.entries[0] if conn.entries else None
            groups: list[str] = []
            if config.group_base:
                query = config.group_filter.format(dn=escape_filter_chars(dn), username=escape_filter_chars(username))
                conn.search(config.group_base, query, search_scope=SUBTREE, attributes=["cn"])
                groups = [e.entry_dn for e in conn.entries]
        except LDAPException as exc:
            raise DependencyUnavailable(f"the LDAP directory did not answer: {exc}") from None
        finally:
            conn.unbind()

        def first(name: str) -> str | None:
            if entry is None or name not in entry.entry_attributes:
                return None
            value = entry[name].value
            return str(value[0] if isinstance(value, list) else value) if value else None

        return Directory(provider="ldap", external_id=first("entryUUID") or dn.lower(), username=username,
                         display_name=first("displayName") or first("cn") or username, email=first("mail"),
                         groups=groups)


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    label: str
    groups_claim: str
    username_claim: str


class Oidc:
    """The authorization code flow with PKCE and a nonce. The state is a short-lived token signed
    with the platform secret, so no server-side storage is needed and it cannot be forged."""

    def __init__(self, config: OidcConfig, *, state_secret: str) -> None:
        if not state_secret:
            raise ValueError("OIDC sign-in needs SUTAZAI_JWT_SECRET (it signs the sign-in state)")
        self._config, self._secret = config, state_secret
        self._metadata: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return self._config.label

    async def _discover(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self._config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.get(url)
                    response.raise_for_status()
                    metadata: dict[str, Any] = response.json()
                    metadata["jwks"] = (await client.get(metadata["jwks_uri"])).raise_for_status().json()
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                raise DependencyUnavailable(
                    f"the OpenID provider at {self._config.issuer} did not answer: {exc}") from None
            self._metadata = metadata
        return self._metadata

    def _client(self, **more: Any) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(client_id=self._config.client_id, client_secret=self._config.client_secret,
                                 scope="openid profile email", code_challenge_method="S256", timeout=10, **more)

    async def authorization_url(self, redirect_uri: str) -> str:
        """Where to send the browser; the state carries the nonce and PKCE verifier, signed."""
        metadata = await self._discover()
        nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        state = jwt.encode({"n": nonce, "v": verifier, "r": redirect_uri, "exp": int(time.time()) + STATE_TTL_SECONDS,
                            "aud": "sutazai-oidc-state"}, self._secret, algorithm="HS256")
        async with self._client(redirect_uri=redirect_uri) as client:
            url, _ = client.create_authorization_url(metadata["authorization_endpoint"], state=state, nonce=nonce,
                                                     code_verifier=verifier)
        return str(url)

    async def complete(self, *, code: str, state: str) -> Directory:
        """Exchange the code, check the ID token (signature, issuer, audience, expiry, nonce)."""
        try:
            saved = jwt.decode(state, self._secret, algorithms=["HS256"], audience="sutazai-oidc-state")
        except jwt.PyJWTError as exc:
            raise ValidationFailed(f"the sign-in state is not valid ({exc}); start the sign-in again") from None
        metadata = await self._discover()
        try:
            async with self._client(redirect_uri=saved["r"]) as client:
                token = await client.fetch_token(metadata["token_endpoint"], code=code, code_verifier=saved["v"])
        except Exception as exc:  # noqa: BLE001 - authlib raises its own errors and httpx's
            raise Unauthenticated(f"the OpenID provider refused the sign-in: {exc}") from None
        if "id_token" not in token:
            raise Unauthenticated("the OpenID provider returned no ID token")
        try:
            keys = KeySet.import_key_set(metadata["jwks"])
            decoded = jose_jwt.decode(token["id_token"], keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"])
            jose_jwt.JWTClaimsRegistry(
                leeway=60, iss={"essential": True, "value": metadata.get("issuer", self._config.issuer)},
                aud={"essential": True, "value": self._config.client_id},
                nonce={"essential": True, "value": saved["n"]}, exp={"essential": True},
            ).validate(decoded.claims)
            claims = decoded.claims
        except (JoseError, ValueError) as exc:
            raise Unauthenticated(f"the ID token is not valid: {exc}") from None
        info = dict(claims)
        if self._config.groups_claim not in info and metadata.get("userinfo_endpoint"):
            async with httpx.AsyncClient(timeout=10) as plain:
                answered = await plain.get(metadata["userinfo_endpoint"],
                                           headers={"Authorization": f"Bearer {token['access_token']}"})
            if answered.status_code == 200:
                info = {**answered.json(), **info}
        groups = info.get(self._config.groups_claim) or []
        name = str(info.get(self._config.username_claim) or info.get("email") or info["sub"])
        return Directory(provider="oidc", external_id=str(info["sub"]), username=name.lower(),
                         display_name=str(info.get("name") or name), email=info.get("email"),
                         groups=[str(g) for g in (groups if isinstance(groups, list) else [groups])])
