"""Procedural memory: what people tell the platform about its answers, turned into behaviour.

A person who may read an answer's trace can correct it: the right answer, optionally the passage
that shows it, and passages that were wrong for the question. An admin of the collection reviews
a correction (one an admin of the collection makes is approved as it is made). An approved
correction becomes an *exemplar* — the question with its right answer (and the passage) — and its
wrong passages become *demotions*. A well-rated answer becomes an exemplar too: rated up by an
admin of its collection, or by two people with nobody rating it down (a later down-rating retires
it). The reasoning service reads a collection's exemplars and demotions (`memory`) with the asking
person's credential, and uses those whose question is close to the one asked."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sutazai.learning.store import memory as store
from sutazai.learning.traces import TraceReader, TraceRef
from sutazai.lib.access import Principal
from sutazai.lib.db import Database
from sutazai.lib.errors import Conflict, Forbidden, NotFound, ValidationFailed

MAX_MEMORY = 2000
_MARKERS = re.compile(r"\s*\[(?:\d+(?:\s*,\s*\d+)*|unsupported)\]")
UPS_NEEDED = 2


def plain_answer(text: str) -> str:
    """An answer without its citation and [unsupported] markers."""
    return " ".join(_MARKERS.sub("", text).split())


class MemoryBook:
    """Corrections, their review, exemplars and demotions; knows nothing of HTTP."""

    def __init__(self, *, db: Database, traces: TraceReader) -> None:
        self._db, self._traces = db, traces

    async def correct(self, *, principal: Principal, credential: str, trace_id: uuid.UUID, answer: str,
                      passage: str | None, wrong_passages: list[str], note: str | None) -> dict[str, Any]:
        text = " ".join(answer.split())
        if not text:
            raise ValidationFailed("the corrected answer is empty; write the right answer to the question")
        trace = await self._traces.readable(trace_id=trace_id, credential=credential)
        if not trace.collection:
            raise ValidationFailed(f"trace {trace_id} has no collection; only answers asked in a collection can be "
                                   "corrected")
        if passage is not None and passage in wrong_passages:
            raise ValidationFailed(f"passage {passage} is given both as the one that shows the answer and as wrong")
        shown, wrong = self._passage(trace, passage), [self._passage(trace, p) for p in dict.fromkeys(wrong_passages)]
        async with self._db.connection() as conn, conn.transaction():
            row = await store.upsert_correction(
                conn=conn, trace_id=trace_id, subject=principal.subject, collection=trace.collection,
                question=trace.question, given_answer=trace.answer or "", answer=text, passage=shown,
                wrong_passages=[w for w in wrong if w], note=(note or "").strip() or None)
            await store.retire_origin(conn=conn, origin="correction", origin_id=str(row["id"]))
            if principal.administers([trace.collection]):
                row = await self._approve(conn, row, reviewer=principal.subject,
                                          note="made by an admin of the collection") or row
        return row

    @staticmethod
    def _passage(trace: TraceRef, chunk_id: str | None) -> dict[str, Any] | None:
        if chunk_id is None:
            return None
        if chunk_id not in trace.passages:
            raise ValidationFailed(f"passage {chunk_id!r} is not one this answer was shown; name a chunk_id from "
                                   f"its citations or its search steps (GET /api/reasoning/v1/traces/"
                                   f"{trace.trace_id})")
        return trace.passages[chunk_id]

    async def _approve(self, conn: Any, row: dict[str, Any], *, reviewer: str,
                       note: str | None) -> dict[str, Any] | None:
        """Approve a pending correction: its exemplar and demotions, in the caller's transaction;
        None when it was no longer pending."""
        reviewed = await store.review(conn=conn, correction_id=row["id"], status="approved", reviewer=reviewer,
                                      note=note)
        if reviewed is None:
            return None
        await store.upsert_exemplar(conn=conn, collection=row["collection"], question=row["question"],
                                    answer=row["answer"], passage=row["passage"], origin="correction",
                                    origin_id=str(row["id"]), trace_id=row["trace_id"], created_by=reviewer)
        for wrong in row["wrong_passages"]:
            await store.insert_demotion(conn=conn, collection=row["collection"], question=row["question"],
                                        chunk_id=wrong["chunk_id"], correction_id=row["id"])
        return reviewed

    async def review(self, *, principal: Principal, correction_id: uuid.UUID, approve: bool,
                     note: str | None) -> dict[str, Any]:
        """An admin of the correction's collection approves or rejects it; exactly one review of
        a pending correction wins, a second gets 409."""
        async with self._db.connection() as conn, conn.transaction():
            row = await store.get_correction(conn=conn, correction_id=correction_id)
            if row is None or not (principal.administers([row["collection"]]) or row["subject"] == principal.subject):
                raise NotFound(f"no correction {correction_id} that you may see")
            if not principal.administers([row["collection"]]):
                raise Forbidden(f"only an admin of collection {row['collection']!r} may review its corrections")
            if approve:
                reviewed = await self._approve(conn, row, reviewer=principal.subject, note=note)
            else:
                reviewed = await store.review(conn=conn, correction_id=correction_id, status="rejected",
                                              reviewer=principal.subject, note=note)
            if reviewed is not None:
                return reviewed
            row = await store.get_correction(conn=conn, correction_id=correction_id) or row
        raise Conflict(f"correction {correction_id} is already {row['status']}; only a pending correction can be "
                       "reviewed (a new correction of the same answer is pending again)")

    async def rated(self, *, principal: Principal, trace: TraceRef) -> None:
        """After a rating: keep the answer as an exemplar while it is well rated, retire it when not."""
        if not trace.collection:
            return
        async with self._db.connection() as conn, conn.transaction():
            up, down = await store.ratings_of(conn=conn, trace_id=trace.trace_id)
            answer = plain_answer(trace.answer or "")
            admin_up = principal.administers([trace.collection]) and up > 0
            if down == 0 and answer and not trace.abstained and (admin_up or up >= UPS_NEEDED):
                await store.upsert_exemplar(conn=conn, collection=trace.collection, question=trace.question,
                                            answer=answer, passage=None, origin="rating",
                                            origin_id=str(trace.trace_id), trace_id=trace.trace_id,
                                            created_by=principal.subject)
            elif down > 0:
                await store.retire_origin(conn=conn, origin="rating", origin_id=str(trace.trace_id))

    async def memory(self, *, principal: Principal, collection: str) -> dict[str, Any]:
        """The active exemplars and demotions of a collection, for whoever may ask in it."""
        if not principal.may_use(collection):
            raise Forbidden(f"your credential may not use collection {collection!r}")
        async with self._db.connection() as conn:
            found = await store.exemplars(conn=conn, collections=[collection], active_only=True, limit=MAX_MEMORY)
            demoted = await store.demotions(conn=conn, collection=collection, limit=MAX_MEMORY)
        return {"collection": collection,
                "exemplars": [{k: e[k] for k in ("id", "question", "answer", "passage", "origin", "work")}
                              for e in found],
                "demotions": demoted}

    async def teach(self, *, principal: Principal, credential: str, run: dict[str, Any],
                    results: list[dict[str, Any]], cases: dict[str, Any]) -> dict[str, int]:
        """A teacher run's right answers become exemplars (origin 'teacher'), each with the worked
        arithmetic its trace holds, in the collection the case was asked in (a case without one
        was asked in the default collection)."""
        counts = {"exemplars": 0, "with_work": 0, "skipped": 0}
        for result in results:
            case = cases.get(result["case_id"])
            collection = (case.collection if case else None) or "default"
            if not (result["correct"] and result["trace_id"] and case) or not principal.administers([collection]):
                counts["skipped"] += 1
                continue
            work = await self._traces.work(trace_id=result["trace_id"], credential=credential,
                                           answer=plain_answer(result["answer"]))
            async with self._db.connection() as conn:
                await store.upsert_exemplar(conn=conn, collection=collection, question=case.question,
                                            answer=plain_answer(result["answer"]), passage=None, origin="teacher",
                                            origin_id=f"{run['run_id']}:{case.case_id}",
                                            trace_id=result["trace_id"], created_by=principal.subject, work=work)
            counts["exemplars"] += 1
            counts["with_work"] += work is not None
        return counts

    async def corrections(self, *, principal: Principal, status: str | None, limit: int) -> list[dict[str, Any]]:
        """Admins see the corrections in the collections they administer, others their own."""
        administered = principal.administered
        subject = None if administered is None or administered else principal.subject
        within = None if subject is not None else administered
        async with self._db.connection() as conn:
            return await store.corrections(conn=conn, status=status, subject=subject, within=within, limit=limit)

    async def exemplars(self, *, principal: Principal, include_retired: bool, limit: int) -> list[dict[str, Any]]:
        async with self._db.connection() as conn:
            return await store.exemplars(conn=conn, collections=principal.administered,
                                         active_only=not include_retired, limit=limit)

    async def retire(self, *, principal: Principal, exemplar_id: uuid.UUID) -> None:
        async with self._db.connection() as conn:
            row = await store.get_exemplar(conn=conn, exemplar_id=exemplar_id)
            if row is None or not principal.administers([row["collection"]]):
                raise NotFound(f"no exemplar {exemplar_id} in a collection you administer")
            if not await store.retire_exemplar(conn=conn, exemplar_id=exemplar_id):
                raise Conflict(f"exemplar {exemplar_id} is already retired")
