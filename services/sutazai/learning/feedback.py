"""Feedback on answers: one verdict per person and trace (a second replaces the first), only on
a trace the person may read (their own answer, or, for an admin, an answer in a collection it
administers); people see their own feedback, admins the feedback on their collections."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sutazai.learning.memory import MemoryBook
from sutazai.learning.store import feedback as store
from sutazai.learning.traces import TraceReader
from sutazai.lib.access import Principal
from sutazai.lib.bus import EventBus
from sutazai.lib.db import Database
from sutazai.lib.errors import DependencyUnavailable, NotFound
from sutazai.lib.field_crypto import FieldCipher, PlainFields

logger = logging.getLogger(__name__)
RATINGS = {"up": 1, "down": -1}
FEEDBACK_STREAM = "learning.feedback"
"""Where every rating is announced (`feedback.given`), for the metacognition service's monitors."""


@dataclass(frozen=True)
class Recorded:
    row: dict[str, Any]
    created: bool


class FeedbackBook:
    """Records and lists feedback; knows nothing of HTTP."""

    def __init__(self, *, db: Database, traces: TraceReader, cipher: FieldCipher | None = None,
                 memory: MemoryBook | None = None, events: EventBus | None = None) -> None:
        self._db, self._traces, self._memory, self._events = db, traces, memory, events
        self._cipher: FieldCipher = cipher or PlainFields()  # comments are encrypted at rest in Compose

    async def give(self, *, principal: Principal, credential: str | None, trace_id: uuid.UUID, rating: str,
                   comment: str | None) -> Recorded:
        """Record `principal`'s verdict ('up' or 'down') on a trace it may read, replacing an
        earlier one. A trace that does not exist and one the caller may not read get the same 404."""
        if credential is None:  # pragma: no cover - the route's dependency already required one
            raise NotFound(f"no trace {trace_id} that you may read")
        trace = await self._traces.readable(trace_id=trace_id, credential=credential)
        text = (comment or "").strip() or None
        async with self._db.connection() as conn:
            row, inserted = await store.upsert_feedback(conn=conn, trace_id=trace_id, subject=principal.subject,
                                                        rating=RATINGS[rating],
                                                        comment=await self._cipher.seal(text),
                                                        collection=trace.collection)
        if self._memory is not None:  # a well-rated answer becomes an exemplar; a down-rating retires it
            await self._memory.rated(principal=principal, trace=trace)
        if self._events is not None:  # the metacognition service's monitors count the ratings
            try:
                await self._events.publish(FEEDBACK_STREAM, "feedback.given", {
                    "trace_id": str(trace_id), "subject": principal.subject, "rating": rating})
            except DependencyUnavailable as exc:  # the rating is stored; only the monitors miss it
                logger.warning("feedback.given for %s not published: %s", trace_id, exc.detail)
        return Recorded(row={**row, "comment": text}, created=inserted)

    async def visible(self, *, principal: Principal, trace_id: uuid.UUID | None, limit: int) -> list[dict[str, Any]]:
        """Newest first: an unrestricted admin sees everyone's feedback, an admin limited to
        collections the feedback on those, anyone else only their own."""
        administered = principal.administered
        subject = None if administered is None or administered else principal.subject
        within = None if subject is not None else administered
        async with self._db.connection() as conn:
            rows = await store.list_feedback(conn=conn, trace_id=trace_id, subject=subject, within=within,
                                             limit=limit)
        return [{**row, "comment": await self._cipher.open(row["comment"])} for row in rows]
