"""Feedback on answers: one verdict per person and trace (a second replaces the first);
people see their own, admins see everyone's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sutazai.learning.store import feedback as store
from sutazai.lib.access import Principal, Role
from sutazai.lib.db import Database

RATINGS = {"up": 1, "down": -1}


@dataclass(frozen=True)
class Recorded:
    row: dict[str, Any]
    created: bool


class FeedbackBook:
    """Records and lists feedback; knows nothing of HTTP."""

    def __init__(self, *, db: Database) -> None:
        self._db = db

    async def give(self, *, principal: Principal, trace_id: uuid.UUID, rating: str, comment: str | None) -> Recorded:
        """Record `principal`'s verdict ('up' or 'down') on a trace, replacing an earlier one."""
        text = (comment or "").strip() or None
        async with self._db.connection() as conn:
            row, inserted = await store.upsert_feedback(conn=conn, trace_id=trace_id, subject=principal.subject,
                                                        rating=RATINGS[rating], comment=text)
        return Recorded(row=row, created=inserted)

    async def visible(self, *, principal: Principal, trace_id: uuid.UUID | None, limit: int) -> list[dict[str, Any]]:
        """Newest first: an admin's view holds everyone's feedback, anyone else's only their own."""
        subject = None if principal.role is Role.admin else principal.subject
        async with self._db.connection() as conn:
            return await store.list_feedback(conn=conn, trace_id=trace_id, subject=subject, limit=limit)
