"""HTTP adapter of the metacognition service: improvement proposals (recorded and listed; the
approval flow arrives with its feature)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from sutazai.lib.deps import AdminPrincipal, PlatformAdmin
from sutazai.metacognition.deps import Metacognition

router = APIRouter(prefix="/api/metacognition/v1", tags=["metacognition"])
Status = Literal["pending", "approved", "rejected", "applied", "superseded", "failed"]


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["routes", "abstain_below", "retrieval", "exemplars"]
    change: dict[str, Any] = Field(description='the settings it changes, e.g. {"routes": {"synthesize": "m"}}')
    evidence: dict[str, Any] = Field(default_factory=dict, description="what it rests on (runs, comparisons)")
    rationale: str = Field(default="", max_length=4000)
    source: str = Field(default="admin", max_length=100, description="who proposes: learning, a monitor, admin")


class ProposalOut(BaseModel):
    id: uuid.UUID
    kind: str
    change: dict[str, Any]
    evidence: dict[str, Any]
    rationale: str
    source: str
    status: Status
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


@router.post("/proposals", response_model=ProposalOut, status_code=201, summary="Propose a bounded change to the "
             "platform's settings with its evidence; a newer proposal of the same kind supersedes a pending one "
             "(platform admins, or a service acting for one)")
async def propose(body: ProposalIn, admin: PlatformAdmin, meta: Metacognition) -> ProposalOut:
    row = await meta.proposals.propose(principal=admin, kind=body.kind, change=body.change, evidence=body.evidence,
                                       rationale=body.rationale, source=body.source)
    return ProposalOut.model_validate(row)


@router.get("/proposals", response_model=list[ProposalOut], summary="Proposals, newest first (admins)")
async def list_proposals(admin: AdminPrincipal, meta: Metacognition, status: Status | None = None,  # noqa: ARG001
                         limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[ProposalOut]:
    return [ProposalOut.model_validate(r) for r in await meta.proposals.recent(status=status, limit=limit)]


@router.get("/proposals/{proposal_id}", response_model=ProposalOut, summary="A proposal with its evidence (admins)")
async def get_proposal(proposal_id: uuid.UUID, admin: AdminPrincipal,  # noqa: ARG001
                       meta: Metacognition) -> ProposalOut:
    return ProposalOut.model_validate(await meta.proposals.get(proposal_id=proposal_id))
