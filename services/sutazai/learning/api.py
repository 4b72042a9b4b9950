"""HTTP adapter of the learning service: feedback on answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sutazai.learning.deps import Learning
from sutazai.lib.deps import CurrentPrincipal
from sutazai.lib.security import credential_from

router = APIRouter(prefix="/api/learning/v1", tags=["learning"])


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trace_id: uuid.UUID = Field(description="the reasoning trace the answer came from")
    rating: Literal["up", "down"] = Field(description="thumbs up or down")
    comment: str | None = Field(default=None, max_length=4000, description="what was right or wrong")


class FeedbackOut(BaseModel):
    id: uuid.UUID
    trace_id: uuid.UUID
    subject: str
    rating: Literal["up", "down"]
    comment: str | None
    collection: str | None = Field(description="the collection of the trace")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> FeedbackOut:
        return cls(**{**row, "rating": "up" if row["rating"] > 0 else "down"})


@router.post("/feedback", response_model=FeedbackOut, status_code=201,
             summary="Thumbs up or down on an answer, with an optional comment (a second verdict from "
                     "the same person on the same trace replaces the first)")
async def give_feedback(body: FeedbackIn, request: Request, response: Response, principal: CurrentPrincipal,
                        learning: Learning) -> FeedbackOut:
    recorded = await learning.feedback.give(principal=principal, credential=credential_from(request),
                                            trace_id=body.trace_id, rating=body.rating, comment=body.comment)
    if not recorded.created:
        response.status_code = 200
    return FeedbackOut.of(recorded.row)


@router.get("/feedback", response_model=list[FeedbackOut],
            summary="Feedback, newest first: admins see the feedback on the collections they "
                    "administer, others their own")
async def list_feedback(principal: CurrentPrincipal, learning: Learning,
                        trace_id: Annotated[uuid.UUID | None, Query()] = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[FeedbackOut]:
    rows = await learning.feedback.visible(principal=principal, trace_id=trace_id, limit=limit)
    return [FeedbackOut.of(r) for r in rows]
