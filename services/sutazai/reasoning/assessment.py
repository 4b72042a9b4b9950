"""How sure the platform is of an answer: the metacognition service's calibrated probability,
asked for every answer with the answer's features and the asker's credential. When the service
cannot be asked, the documented prior (`sutazai.lib.confidence.prior`) and this service's own threshold
decide, and the trace says so."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

from sutazai.lib.confidence import AnswerFeatures, prior
from sutazai.lib.errors import SutazaiError
from sutazai.lib.http_client import ResilientClient

logger = logging.getLogger(__name__)
ASSESSMENTS_PATH = "/api/metacognition/v1/assessments"


class Assessor(Protocol):
    async def assess(self, *, features: dict[str, Any], trace_id: uuid.UUID, abstain_below: float | None,
                     credential: str | None) -> dict[str, Any]:
        """{"probability", "calibrator", "method", "threshold", "abstain"}; raises SutazaiError when
        the assessment cannot be had."""
        ...


class MetacognitionAssessor:
    """Assessor over the metacognition service's HTTP API, as the asking person."""

    def __init__(self, client: ResilientClient) -> None:
        self._client = client

    async def assess(self, *, features: dict[str, Any], trace_id: uuid.UUID, abstain_below: float | None,
                     credential: str | None) -> dict[str, Any]:
        if credential is None:
            raise SutazaiError("no credential to ask the metacognition service with")
        body: dict[str, Any] = {"features": features, "trace_id": str(trace_id)}
        if abstain_below is not None:
            body["abstain_below"] = abstain_below
        response = await self._client.request("POST", ASSESSMENTS_PATH, json=body,
                                              headers={"Authorization": f"Bearer {credential}"})
        if response.status_code != 200:
            raise SutazaiError(f"the metacognition service answered {response.status_code}: "
                               f"{response.text[:200]}")
        answer: dict[str, Any] = response.json()
        return answer


async def assess(assessor: Assessor | None, *, features: dict[str, Any], trace_id: uuid.UUID,
                 explicit_threshold: float | None, fallback_threshold: float,
                 credential: str | None) -> dict[str, Any]:
    """The assessment to decide with and record: the service's, else the prior's with the reason."""
    note = "calibrated confidence is off (SUTAZAI_CALIBRATED_CONFIDENCE)"
    if assessor is not None:
        try:
            got = await assessor.assess(features=features, trace_id=trace_id, abstain_below=explicit_threshold,
                                        credential=credential)
            return {**got, "features": features}
        except SutazaiError as exc:
            note = f"the metacognition service could not assess the answer ({exc.detail}); the prior decided"
            logger.warning("assessment of %s: %s", trace_id, exc.detail)
    probability = prior(AnswerFeatures.of(features))
    threshold = fallback_threshold if explicit_threshold is None else explicit_threshold
    return {"probability": probability, "calibrator": None, "method": "prior", "threshold": threshold,
            "abstain": probability < threshold, "features": features, "note": note}
