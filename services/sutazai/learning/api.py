"""HTTP adapter of the learning service: feedback on answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sutazai.learning import store
from sutazai.lib.security import CurrentPrincipal, Role

router = APIRouter(prefix="/api/learning/v1", tags=["learning"])
RATINGS = {"up": 1, "down": -1}


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
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> FeedbackOut:
        return cls(**{**row, "rating": "up" if row["rating"] > 0 else "down"})


@router.post("/feedback", response_model=FeedbackOut, status_code=201,
             summary="Thumbs up or down on an answer, with an optional comment (a second verdict from "
                     "the same person on the same trace replaces the first)")
async def give_feedback(body: FeedbackIn, request: Request, response: Response,
                        principal: CurrentPrincipal) -> FeedbackOut:
    comment = (body.comment or "").strip() or None
    async with request.app.state.resources.db.connection() as conn:
        row, inserted = await store.upsert_feedback(conn=conn, trace_id=body.trace_id, subject=principal.subject,
                                                    rating=RATINGS[body.rating], comment=comment)
    if not inserted:
        response.status_code = 200
    return FeedbackOut.of(row)


@router.get("/feedback", response_model=list[FeedbackOut],
            summary="Feedback, newest first: admins see everyone's, others their own")
async def list_feedback(request: Request, principal: CurrentPrincipal,
                        trace_id: Annotated[uuid.UUID | None, Query()] = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[FeedbackOut]:
    subject = None if principal.role is Role.admin else principal.subject
    async with request.app.state.resources.db.connection() as conn:
        rows = await store.list_feedback(conn=conn, trace_id=trace_id, subject=subject, limit=limit)
    return [FeedbackOut.of(r) for r in rows]
