"""PostgreSQL search index: full-text search (tsvector, OR semantics, ts_rank) and pgvector
HNSW cosine search, in table knowledge.chunk_index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sutazai.knowledge.search.interface import Hit, IndexedChunk, SearchFilters
from sutazai.lib.db import Database


def vector_literal(embedding: Sequence[float]) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in embedding) + "]"


def _where(filters: SearchFilters) -> tuple[str, list[Any]]:
    clauses: list[str] = ["collection = ANY(%s)"]
    params: list[Any] = [list(filters.collections)]
    if filters.document_ids:
        clauses.append("document_id = ANY(%s::uuid[])")
        params.append(list(filters.document_ids))
    if filters.tags:
        clauses.append("tags @> %s")
        params.append(list(filters.tags))
    if filters.date_from:
        clauses.append("doc_date >= %s")
        params.append(filters.date_from)
    if filters.date_to:
        clauses.append("doc_date <= %s")
        params.append(filters.date_to)
    return " AND ".join(clauses), params


class PostgresSearchIndex:
    name = "postgres"

    def __init__(self, db: Database, *, text_config: str = "english", ef_search: int = 100) -> None:
        if not text_config.isidentifier():
            raise ValueError(f"text search configuration {text_config!r} is not a valid name")
        self._db, self._config, self._ef = db, text_config, ef_search

    async def ensure_ready(self) -> None:
        """The table comes with the knowledge migrations."""

    async def upsert(self, chunks: Sequence[IndexedChunk]) -> None:
        if not chunks:
            return
        rows = [(c.chunk_id, c.document_id, c.collection, c.tags, c.doc_date,
                 f"{c.heading or ''}\n{c.text}", vector_literal(c.embedding)) for c in chunks]
        async with self._db.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                f"""INSERT INTO knowledge.chunk_index
                      (chunk_id, document_id, collection, tags, doc_date, tsv, embedding)
                    VALUES (%s, %s, %s, %s, %s, to_tsvector('{self._config}', %s), %s::public.vector)
                    ON CONFLICT (chunk_id) DO UPDATE SET tags = EXCLUDED.tags,
                      doc_date = EXCLUDED.doc_date, tsv = EXCLUDED.tsv, embedding = EXCLUDED.embedding""",  # noqa: S608
                rows,
            )

    async def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        async with self._db.connection() as conn:
            await conn.execute("DELETE FROM knowledge.chunk_index WHERE chunk_id = ANY(%s::uuid[])",
                               (list(chunk_ids),))

    async def delete_document(self, document_id: str) -> None:
        async with self._db.connection() as conn:
            await conn.execute("DELETE FROM knowledge.chunk_index WHERE document_id = %s", (document_id,))

    async def keyword(self, query: str, filters: SearchFilters, k: int) -> list[Hit]:
        where, params = _where(filters)
        sql = f"""
            WITH q AS (
              SELECT to_tsquery('simple', array_to_string(
                       tsvector_to_array(to_tsvector('{self._config}', %s)), ' | ')) AS query)
            SELECT chunk_id::text, ts_rank(tsv, q.query, 1) AS score
              FROM knowledge.chunk_index, q
             WHERE numnode(q.query) > 0 AND tsv @@ q.query AND {where}
             ORDER BY score DESC, chunk_id LIMIT %s"""  # noqa: S608 - validated identifier, fixed clauses
        async with self._db.connection() as conn:
            rows = await (await conn.execute(sql, [query, *params, k])).fetchall()
        return [Hit(str(r["chunk_id"]), float(r["score"])) for r in rows]

    async def vector(self, embedding: Sequence[float], filters: SearchFilters, k: int) -> list[Hit]:
        where, params = _where(filters)
        literal = vector_literal(embedding)
        async with self._db.connection() as conn, conn.transaction():
            await conn.execute(f"SET LOCAL hnsw.ef_search = {int(self._ef)}")
            await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            rows = await (await conn.execute(
                f"""SELECT chunk_id::text, 1 - (embedding <=> %s::public.vector) AS score
                      FROM knowledge.chunk_index WHERE {where}
                     ORDER BY embedding <=> %s::public.vector LIMIT %s""",  # noqa: S608 - fixed clauses
                [literal, *params, literal, k],
            )).fetchall()
        return [Hit(str(r["chunk_id"]), float(r["score"])) for r in rows]

    async def count(self, filters: SearchFilters) -> int:
        where, params = _where(filters)
        async with self._db.connection() as conn:
            row = await (await conn.execute(
                f"SELECT count(*) AS n FROM knowledge.chunk_index WHERE {where}", params  # noqa: S608
            )).fetchone()
        return int(row["n"]) if row else 0

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        """The pool belongs to the service."""
