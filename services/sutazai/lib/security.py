"""Where credentials are checked: API keys (stored hashed), short-lived JWT bearer tokens, the
credential a request carries, and the Authenticator that turns it into a Principal. The route
dependencies built on it are in `sutazai.lib.deps`."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import jwt
from starlette.requests import Request

from sutazai.lib.access import Principal, Role
from sutazai.lib.errors import Forbidden, Unauthenticated
from sutazai.lib.ratelimit import AuthLimits

API_KEY_PREFIX = "szk"
_API_KEY_RE = re.compile(rf"^{API_KEY_PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{32,64}})$")
JWT_ISSUER = "sutazai-identity"
JWT_ALGORITHM = "HS256"
SESSION_COOKIE = "sutazai_session"
CSRF_HEADER = "x-sutazai-csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class NewApiKey:
    key_id: str
    secret_hash: str
    plaintext: str


def generate_api_key() -> NewApiKey:
    """A new key `szk_<id>_<secret>`; only its SHA-256 hash is ever stored.

    Keys carry 256 bits of randomness, so a fast hash is safe (unlike passwords)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(key_id, hash_secret(secret), f"{API_KEY_PREFIX}_{key_id}_{secret}")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_api_key(raw: str) -> tuple[str, str] | None:
    """Return (key_id, secret) of a well-formed key, or None."""
    match = _API_KEY_RE.match(raw)
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


class TokenCodec:
    """Issues and verifies HS256 JWTs signed with the platform secret."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        if not secret:
            raise ValueError("a JWT secret is required (SUTAZAI_JWT_SECRET)")
        self._secret, self._ttl = secret, ttl_seconds

    def issue(self, principal: Principal) -> tuple[str, int]:
        exact = time.time()
        now = int(exact)
        claims = {
            "iss": JWT_ISSUER, "sub": principal.subject, "role": principal.role.value,
            "kid": principal.key_id, "col": list(principal.collections), "uid": principal.user_id,
            "iat": now, "ist": round(exact, 6), "exp": now + self._ttl, "jti": secrets.token_hex(16),
        }
        return jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM), self._ttl

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[JWT_ALGORITHM], issuer=JWT_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("bearer token has expired; request a new one") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"bearer token is invalid: {exc}; sign in again for a new one") from exc
        try:
            role = Role(claims.get("role", ""))
        except ValueError as exc:
            raise Unauthenticated("bearer token carries an unknown role") from exc
        return Principal(
            subject=str(claims["sub"]), role=role, credential="token",
            key_id=claims.get("kid"), collections=tuple(claims.get("col") or ()),
            token_id=str(claims["jti"]), expires_at=int(claims["exp"]), user_id=claims.get("uid"),
            issued_at=float(claims.get("ist") or claims["iat"]),
        )


class ApiKeyVerifier(Protocol):
    """Turns an API key, or a bearer token whose signature already checked out, into a Principal
    that is still valid (key not revoked, token not signed out), or raises Unauthenticated."""

    async def verify(self, raw_key: str) -> Principal: ...


def credential_from(request: Request) -> str | None:
    """The credential in `Authorization: Bearer ...`, `X-API-Key`, or the web UI's session cookie.

    The cookie (an HttpOnly bearer token set at sign-in) only counts on a request that changes
    something when it also carries `X-SutazAI-CSRF: 1`, a header another site cannot send."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization header must be 'Bearer <api key or token>'")
        return value.strip()
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        return None
    if request.method not in _SAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
        raise Forbidden("a browser session may change things only with the header 'X-SutazAI-CSRF: 1'")
    return session


class Authenticator:
    """Authenticates a raw credential: API keys via the verifier; JWTs first by their signature
    and expiry (the codec, no network), then via the verifier, which refuses a token whose key
    was revoked or which was signed out (identity checks its tables on every call; the other
    services ask identity and may cache its answer for `introspection_cache_seconds`)."""

    def __init__(self, *, verifier: ApiKeyVerifier, codec: TokenCodec | None, limits: AuthLimits | None = None) -> None:
        self._verifier, self._codec, self._limits = verifier, codec, limits

    async def ready(self) -> None:
        """Readiness: raises while the verifier cannot verify (identity's circuit open)."""
        check = getattr(self._verifier, "ready", None)
        if check is not None:
            await check()

    async def authenticate(self, raw: str | None, *, address: str | None = None, limited: bool = True) -> Principal:
        """The caller behind `raw`, within the rate limits (per client address for failures,
        per key for uses) when there are limits and the request is `limited`."""
        if self._limits is None or not limited:
            return await self._authenticate(raw)
        if not raw:  # a missing credential is not a guess
            await self._limits.check_address(address)
            return await self._authenticate(raw)
        principal = await self.attempt(address, lambda: self._authenticate(raw))
        await self._limits.used(principal.key_id)
        return principal

    async def attempt(self, address: str | None, verify: Callable[[], Awaitable[Principal]]) -> Principal:
        """Run one proof of identity (a credential, or a user name and password) within the
        per-address failure limit: refused at once when the address failed too often, counted
        as a failure when it raises Unauthenticated."""
        if self._limits is None:
            return await verify()
        await self._limits.check_address(address)
        try:
            return await verify()
        except Unauthenticated:
            await self._limits.failed(address)
            raise

    async def _authenticate(self, raw: str | None) -> Principal:
        if not raw:
            raise Unauthenticated(
                "this endpoint needs a credential: send 'Authorization: Bearer <api key>' "
                "(create one with `sutazai admin create-key`)"
            )
        if raw.startswith(f"{API_KEY_PREFIX}_"):
            return await self._verifier.verify(raw)
        if raw.count(".") == 2 and self._codec is not None:
            self._codec.verify(raw)
            return await self._verifier.verify(raw)
        raise Unauthenticated("credential is neither a SutazAI API key (szk_...) nor a bearer token")
