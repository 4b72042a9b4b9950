"""Improvement proposals: bounded changes to settings, never code, each with its evidence. Other
services (learning, for model routes) and the service's own monitors propose; an admin decides.
This module records and lists them; approval and applying arrive with the approval flow."""

from __future__ import annotations

import uuid
from typing import Any

from sutazai.lib.access import Principal
from sutazai.lib.db import Database
from sutazai.lib.errors import NotFound, ValidationFailed
from sutazai.metacognition.store import proposals as store

KINDS = ("routes", "abstain_below", "retrieval", "exemplars")
STEP_KINDS = ("plan", "extract", "synthesize", "verify")


def check_change(kind: str, change: dict[str, Any]) -> dict[str, Any]:
    """The change if it is within the declared bounds of its kind, else ValidationFailed."""
    if kind == "routes":
        routes = change.get("routes")
        if not isinstance(routes, dict) or not routes or set(change) != {"routes"}:
            raise ValidationFailed('a routes proposal changes {"routes": {"<step kind>": "<model>"}} and nothing else')
        for step_kind, model in routes.items():
            if step_kind not in STEP_KINDS:
                raise ValidationFailed(f"unknown step kind {step_kind!r}; the kinds are {', '.join(STEP_KINDS)}")
            if not isinstance(model, str) or not 0 < len(model) <= 200:
                raise ValidationFailed(f"the model for {step_kind!r} must be a model name")
        return change
    if kind == "abstain_below":
        value = change.get("abstain_below")
        if set(change) != {"abstain_below"} or not isinstance(value, (int, float)) or not 0.0 <= value <= 0.95:
            raise ValidationFailed('an abstain_below proposal changes {"abstain_below": <0 to 0.95>} and nothing '
                                   "else")
        return change
    raise ValidationFailed(f"proposals of kind {kind!r} are not accepted yet; the kinds are routes, abstain_below")


class ProposalBook:
    """Records and lists proposals; knows nothing of HTTP."""

    def __init__(self, *, db: Database) -> None:
        self._db = db

    async def propose(self, *, principal: Principal, kind: str, change: dict[str, Any], evidence: dict[str, Any],
                      rationale: str, source: str) -> dict[str, Any]:
        if kind not in KINDS:
            raise ValidationFailed(f"unknown kind {kind!r}; the kinds are {', '.join(KINDS)}")
        checked = check_change(kind, change)
        async with self._db.connection() as conn, conn.transaction():
            return await store.insert(conn=conn, kind=kind, change=checked, evidence=evidence, rationale=rationale,
                                      source=source, created_by=principal.subject)

    async def get(self, *, proposal_id: uuid.UUID) -> dict[str, Any]:
        async with self._db.connection() as conn:
            found = await store.get(conn=conn, proposal_id=proposal_id)
        if found is None:
            raise NotFound(f"no proposal {proposal_id}")
        return found

    async def recent(self, *, status: str | None, limit: int) -> list[dict[str, Any]]:
        async with self._db.connection() as conn:
            return await store.recent(conn=conn, status=status, limit=limit)
