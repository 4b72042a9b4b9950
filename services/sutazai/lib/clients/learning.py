"""Typed client of the learning service (used by reasoning and metacognition)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sutazai.lib.clients.base import ServiceClient
from sutazai.lib.contracts import learning as contract
from sutazai.lib.contracts.learning import MemoryOut, OutcomeOut, SuiteWithCases


class LearningClient(ServiceClient):
    service = "learning"

    async def memory(self, collection: str, *, credential: str) -> MemoryOut:
        """A collection's active exemplars and demoted passages, as the asking person."""
        response = await self.call("GET", contract.MEMORY, credential=credential, params={"collection": collection})
        return self.parse(response, MemoryOut)

    async def outcomes(self, *, credential: str, since: dt.datetime | None, limit: int) -> list[OutcomeOut]:
        """Labelled answers for calibration, oldest first (platform admins)."""
        params: dict[str, Any] = {"limit": limit} | ({"since": since.isoformat()} if since else {})
        response = await self.call("GET", contract.OUTCOMES, credential=credential, params=params)
        return self.parse_as(response, list[OutcomeOut])

    async def suite(self, name: str, *, credential: str) -> SuiteWithCases:
        """A suite with its cases (admins); the name must already be a valid suite name."""
        response = await self.call("GET", contract.suite_path(name), credential=credential)
        return self.parse(response, SuiteWithCases)
