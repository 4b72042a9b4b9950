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

    def __init__(self, db: Database, *, text_config: str = "english", ef_search: int = 100,
                 common_term_rows: int = 5000, max_matches: int = 20_000) -> None:
        if not text_config.isidentifier():
            raise ValueError(f"text search configuration {text_config!r} is not a valid name")
        self._db, self._config, self._ef = db, text_config, ef_search
        self._common_rows, self._max_matches = common_term_rows, max_matches

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
        """Full-text ranking with OR semantics, like BM25. Terms found in more than
        `common_term_rows` chunks are dropped when rarer terms exist (their IDF is near zero, and
        ranking every row that contains them is what makes full-text search slow at scale)."""
        where, params = _where(filters)
        async with self._db.connection() as conn:
            lexemes = await self._lexemes(conn, query)
            kept = await self._informative(conn, lexemes, where, params)
            if not kept:
                return []
            sql = f"""
                WITH q AS (SELECT to_tsquery('simple', %s) AS query),
                     m AS (SELECT chunk_id, tsv FROM knowledge.chunk_index, q
                            WHERE tsv @@ q.query AND {where} LIMIT %s)
                SELECT m.chunk_id::text, ts_rank(m.tsv, q.query, 1) AS score FROM m, q
                 ORDER BY score DESC, m.chunk_id LIMIT %s"""  # noqa: S608 - fixed clauses, parameters only
            rows = await (await conn.execute(sql, [" | ".join(kept), *params, self._max_matches, k])).fetchall()
        return [Hit(str(r["chunk_id"]), float(r["score"])) for r in rows]

    async def _lexemes(self, conn: Any, query: str) -> list[str]:
        row = await (await conn.execute(
            f"SELECT tsvector_to_array(to_tsvector('{self._config}', %s)) AS lexemes", (query,))).fetchone()
        return [lexeme.replace("'", "''") for lexeme in (row["lexemes"] if row else [])]

    async def _informative(self, conn: Any, lexemes: list[str], where: str, params: list[Any]) -> list[str]:
        """Quoted lexemes to search for: the rarer ones, or all if every one is common."""
        counts = []
        for lexeme in lexemes[:32]:
            row = await (await conn.execute(
                f"""SELECT count(*) AS n FROM (SELECT 1 FROM knowledge.chunk_index
                      WHERE tsv @@ to_tsquery('simple', %s) AND {where} LIMIT %s) s""",  # noqa: S608
                [f"'{lexeme}'", *params, self._common_rows])).fetchone()
            counts.append((int(row["n"]) if row else 0, lexeme))
        rare = [f"'{lexeme}'" for n, lexeme in counts if 0 < n < self._common_rows]
        if rare:
            return rare
        return [f"'{lexeme}'" for n, lexeme in counts if n > 0]

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
