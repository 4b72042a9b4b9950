"""Verifies API keys and bearer tokens by asking the identity service over HTTP
(`GET /api/identity/v1/whoami` with the caller's own credential), caching answers for
`introspection_cache_seconds` (5 s by default). A revocation identity broadcasts evicts the
entries it covers at once (lib/revocations.py); the cache's lifetime is the bound only when the
bus is down. Used by every service but identity."""

from __future__ import annotations

import hashlib

from cachetools import TTLCache

from sutazai.lib.access import Principal
from sutazai.lib.contracts import identity as contract
from sutazai.lib.contracts.identity import Revocation
from sutazai.lib.errors import DependencyUnavailable, Unauthenticated
from sutazai.lib.http_client import ResilientClient

WHOAMI_PATH = contract.WHOAMI


class IdentityKeyVerifier:
    """ApiKeyVerifier backed by the identity service."""

    def __init__(self, client: ResilientClient, *, cache_seconds: float) -> None:
        self._client = client
        self._cache: TTLCache[str, Principal] | None = (
            TTLCache(maxsize=4096, ttl=cache_seconds) if cache_seconds > 0 else None
        )

    async def ready(self) -> None:
        """Raise while the circuit to identity is open: the service cannot authenticate anyone."""
        if self._client.breaker.current_state == "open":
            raise DependencyUnavailable("the circuit to the identity service is open after repeated failures; "
                                        "it is retried shortly")

    def evict(self, revocation: Revocation) -> int:
        """Forget every cached answer the revocation covers; returns how many were dropped."""
        if self._cache is None:
            return 0
        dropped = [k for k, principal in list(self._cache.items()) if revocation.matches(principal)]
        for key in dropped:
            self._cache.pop(key, None)
        return len(dropped)

    @property
    def caching(self) -> bool:
        return self._cache is not None

    async def verify(self, raw_key: str) -> Principal:
        fingerprint = hashlib.sha256(raw_key.encode()).hexdigest()
        if self._cache is not None and fingerprint in self._cache:
            return self._cache[fingerprint]
        response = await self._client.request(
            "GET", WHOAMI_PATH, headers={"Authorization": f"Bearer {raw_key}", "X-SutazAI-Introspection": "1"}
        )
        if response.status_code == 401:
            raise Unauthenticated(response.json().get("detail", "API key is not valid"))
        if response.status_code != 200:
            raise DependencyUnavailable(f"identity service answered {response.status_code}")
        body = response.json()
        principal = Principal.from_dict(body)
        if self._cache is not None:
            self._cache[fingerprint] = principal
        return principal
