"""Typed client of the metacognition service (used by reasoning and learning)."""

from __future__ import annotations

import uuid
from typing import Any

from sutazai.lib.clients.base import ServiceClient
from sutazai.lib.contracts import metacognition as contract
from sutazai.lib.contracts.metacognition import AssessmentIn, AssessmentOut, FeaturesIn, ProposalIn, ProposalOut
from sutazai.lib.errors import SutazaiError


class MetacognitionClient(ServiceClient):
    service = "metacognition"

    async def assess(self, *, features: dict[str, Any], trace_id: uuid.UUID, abstain_below: float | None,
                     credential: str | None) -> AssessmentOut:
        """How likely the answer is right, as the asking person (reasoning.assessment.Assessor)."""
        if credential is None:
            raise SutazaiError("no credential to ask the metacognition service with")
        body = AssessmentIn(features=FeaturesIn.model_validate(features), trace_id=trace_id,
                            abstain_below=abstain_below)
        sent = body.model_dump(mode="json")
        if abstain_below is None:  # absent: the service's active threshold
            del sent["abstain_below"]
        response = await self.call("POST", contract.ASSESSMENTS, credential=credential, json=sent)
        return self.parse(response, AssessmentOut)

    async def propose(self, proposal: ProposalIn, *, credential: str) -> ProposalOut:
        """A proposal for an admin to decide (201), as the proposing admin."""
        response = await self.call("POST", contract.PROPOSALS, credential=credential, ok=(201,),
                                   json=proposal.model_dump(mode="json"))
        return self.parse(response, ProposalOut)
