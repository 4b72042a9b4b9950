"""How sure the platform is of an answer: the metacognition service's calibrated probability,
asked for every answer with the answer's features and the asker's credential. When the service
cannot be asked, the documented prior (`sutazai.lib.confidence.prior`) and this service's own threshold
decide, and the trace says so."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

from sutazai.lib.confidence import AnswerFeatures, prior
from sutazai.lib.contracts.metacognition import AssessmentOut
from sutazai.lib.errors import SutazaiError

logger = logging.getLogger(__name__)


class Assessor(Protocol):
    """Where the calibrated probability comes from (lib.clients.metacognition.MetacognitionClient)."""

    async def assess(self, *, features: dict[str, Any], trace_id: uuid.UUID, abstain_below: float | None,
                     credential: str | None) -> AssessmentOut:
        """Raises SutazaiError when the assessment cannot be had."""
        ...


async def assess(assessor: Assessor | None, *, features: dict[str, Any], trace_id: uuid.UUID,
                 explicit_threshold: float | None, fallback_threshold: float,
                 credential: str | None) -> dict[str, Any]:
    """The assessment to decide with and record: the service's, else the prior's with the reason."""
    note = "calibrated confidence is off (SUTAZAI_CALIBRATED_CONFIDENCE)"
    if assessor is not None:
        try:
            got = await assessor.assess(features=features, trace_id=trace_id, abstain_below=explicit_threshold,
                                        credential=credential)
            return {**got.model_dump(mode="json"), "features": features}
        except SutazaiError as exc:
            note = f"the metacognition service could not assess the answer ({exc.detail}); the prior decided"
            logger.warning("assessment of %s: %s", trace_id, exc.detail)
    probability = prior(AnswerFeatures.of(features))
    threshold = fallback_threshold if explicit_threshold is None else explicit_threshold
    return {"probability": probability, "calibrator": None, "method": "prior", "threshold": threshold,
            "abstain": probability < threshold, "features": features, "note": note}
