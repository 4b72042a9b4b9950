"""Typed client of the identity service's key endpoints (used by learning for evaluation runs'
keys; token and key verification is lib.identity_client)."""

from __future__ import annotations

from sutazai.lib.clients.base import ServiceClient
from sutazai.lib.contracts import identity as contract
from sutazai.lib.contracts.identity import CreatedKey, CreateKey


class IdentityClient(ServiceClient):
    service = "identity"

    async def create_key(self, request: CreateKey, *, credential: str) -> CreatedKey:
        """A key made by (and never wider than) the credential's holder."""
        response = await self.call("POST", contract.KEYS, credential=credential, ok=(201,),
                                   json=request.model_dump(mode="json", exclude_none=True))
        return self.parse(response, CreatedKey)

    async def revoke_key(self, key_id: str, *, credential: str) -> None:
        await self.call("DELETE", f"{contract.KEYS}/{key_id}", credential=credential, ok=(204, 200))
