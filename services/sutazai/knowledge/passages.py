"""Passages and entity mentions as stored in the knowledge database: what retrieval and the
graph explorer read to turn index hits and graph facts into exact, citable text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sutazai.knowledge.store import chunks, entities
from sutazai.lib.db import Database


class PassageSource(Protocol):
    """Current-version chunks by id, and the entities a text names."""

    async def chunks(self, chunk_ids: Sequence[str]) -> list[dict[str, Any]]: ...

    async def entities_named_in(self, collections: Sequence[str], text: str, limit: int) -> list[dict[str, Any]]: ...


class StoredPassages:
    """PassageSource over PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def chunks(self, chunk_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not chunk_ids:
            return []
        async with self._db.connection() as conn:
            return await chunks.get_chunks(conn=conn, chunk_ids=chunk_ids)

    async def entities_named_in(self, collections: Sequence[str], text: str, limit: int) -> list[dict[str, Any]]:
        async with self._db.connection() as conn:
            return await entities.entities_named_in(conn=conn, collections=collections, text=text, limit=limit)
