"""What a caller may see of the stored documents: documents and jobs of the collections their
credential allows, and those collections with their document counts. Another collection's
document answers exactly as a missing one does (404), so nothing can be inferred."""

from __future__ import annotations

import uuid
from typing import Any

from sutazai.knowledge.store import documents, jobs
from sutazai.lib.access import Principal
from sutazai.lib.db import Database
from sutazai.lib.errors import NotFound


def _valid_id(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise NotFound(f"no {what} {value}") from exc


class Catalog:
    """Reads documents, jobs and collections on behalf of a principal; knows nothing of HTTP."""

    def __init__(self, *, db: Database) -> None:
        self._db = db

    async def documents(self, *, principal: Principal, collection: str | None, limit: int,
                        offset: int) -> list[dict[str, Any]]:
        name = principal.collection(collection)
        async with self._db.connection() as conn:
            return await documents.list_documents(conn=conn, collections=[name], limit=limit, offset=offset)

    async def collections(self, *, principal: Principal) -> dict[str, int]:
        """Collection -> document count, for every collection the principal may use (its
        default and scoped collections included, even while empty)."""
        scoped = principal.usable
        async with self._db.connection() as conn:
            counts = await documents.collection_counts(conn=conn, collections=scoped)
        names = set(counts) | set(scoped or [principal.default_collection])
        return {name: counts.get(name, 0) for name in sorted(names)}

    async def require_known(self, *, principal: Principal, collection: str) -> str:
        """`collection` if it holds documents, or is the principal's default; else NotFound
        listing the collections the principal may use."""
        name = principal.collection(collection)
        known = await self.collections(principal=principal)
        if known.get(name, 0) == 0 and name != principal.default_collection:
            listed = ", ".join(known) or "none yet"
            raise NotFound(f"unknown collection {name!r}; collections you can use: {listed}")
        return name

    async def document(self, *, principal: Principal, document_id: str) -> dict[str, Any]:
        async with self._db.connection() as conn:
            row = await documents.get_document(conn=conn, document_id=_valid_id(document_id, "document"))
        return _visible(principal, row, f"no document {document_id}")

    async def jobs_of(self, *, principal: Principal, document_id: str) -> list[dict[str, Any]]:
        document = await self.document(principal=principal, document_id=document_id)
        async with self._db.connection() as conn:
            return await jobs.document_jobs(conn=conn, document_id=str(document["id"]))

    async def job(self, *, principal: Principal, job_id: str) -> dict[str, Any]:
        async with self._db.connection() as conn:
            row = await jobs.get_job(conn=conn, job_id=_valid_id(job_id, "job"))
        return _visible(principal, row, f"no job {job_id}")


def _visible(principal: Principal, row: dict[str, Any] | None, missing: str) -> dict[str, Any]:
    """The row when it exists in a collection the principal may use; the same 404 otherwise."""
    if row is None or not principal.may_use(row["collection"]):
        raise NotFound(missing)
    return row
