"""SQL of chunks: the passages of each document version, with their exact offsets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sutazai.knowledge.store import Conn, Row

CHUNK_NAMESPACE = uuid.UUID("6f1c3f5e-8a51-4d3e-9a38-2f1b7f6c9e10")


def chunk_id(document_id: str, version: int, ordinal: int) -> str:
    """Deterministic, so re-running a job writes the same chunks instead of duplicates."""
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{document_id}:{version}:{ordinal}"))


async def upsert_chunks(*, conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            """INSERT INTO knowledge.chunks (id, document_id, collection, version, ordinal, start_offset,
                   end_offset, page, heading, text)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING""",
            rows,
        )


async def chunk_ids(*, conn: Conn, document_id: str, version: int, of_version: bool) -> list[str]:
    """Ids of the document's chunks of `version` (of_version) or of every other version."""
    operator = "=" if of_version else "<>"
    rows = await (await conn.execute(
        f"SELECT id::text FROM knowledge.chunks WHERE document_id = %s AND version {operator} %s",  # noqa: S608
        (document_id, version),
    )).fetchall()
    return [r["id"] for r in rows]


async def delete_chunks(*, conn: Conn, chunk_ids: Sequence[str]) -> None:
    await conn.execute("DELETE FROM knowledge.chunks WHERE id = ANY(%s::uuid[])", (list(chunk_ids),))


async def get_chunks(*, conn: Conn, chunk_ids: Sequence[str]) -> list[Row]:
    return await (await conn.execute(
        """SELECT c.id::text AS chunk_id, c.document_id::text AS document_id, c.collection, c.ordinal,
                  c.start_offset, c.end_offset, c.page, c.heading, c.text, d.source, d.title, d.tags,
                  d.doc_date, d.version
             FROM knowledge.chunks c JOIN knowledge.documents d ON d.id = c.document_id
            WHERE c.id = ANY(%s::uuid[]) AND c.version = d.version""",
        (list(chunk_ids),),
    )).fetchall()


async def unread_chunks(*, conn: Conn, document_id: str, version: int, limit: int) -> list[Row]:
    """The version's chunks the graph has not read yet, in document order."""
    return await (await conn.execute(
        """SELECT id::text AS chunk_id, document_id::text AS document_id, collection, ordinal, heading, text
             FROM knowledge.chunks WHERE document_id = %s AND version = %s AND NOT graph_read
            ORDER BY ordinal LIMIT %s""",
        (document_id, version, limit),
    )).fetchall()


async def mark_graph_read(*, conn: Conn, chunk_ids: Sequence[str]) -> None:
    await conn.execute("UPDATE knowledge.chunks SET graph_read = true WHERE id = ANY(%s::uuid[])",
                       (list(chunk_ids),))


async def graph_progress(*, conn: Conn, document_id: str, version: int) -> tuple[int, int]:
    """(chunks the graph has read, chunks in all) of this document version."""
    row = await (await conn.execute(
        """SELECT count(*) FILTER (WHERE graph_read) AS read, count(*) AS total FROM knowledge.chunks
            WHERE document_id = %s AND version = %s""", (document_id, version))).fetchone()
    return (int(row["read"]), int(row["total"])) if row else (0, 0)
