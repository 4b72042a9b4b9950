"""SQL of documents, their content-addressed blobs and their extracted texts."""

from __future__ import annotations

from datetime import date

from sutazai.knowledge.store import Conn, Row


async def put_blob(*, conn: Conn, sha256: str, content: bytes) -> None:
    await conn.execute(
        "INSERT INTO knowledge.blobs (sha256, content, size) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (sha256, content, len(content)),
    )


async def get_blob(*, conn: Conn, sha256: str) -> bytes | None:
    row = await (await conn.execute("SELECT content FROM knowledge.blobs WHERE sha256 = %s", (sha256,))).fetchone()
    return bytes(row["content"]) if row else None


async def find_document(*, conn: Conn, collection: str, source: str, lock: bool = False) -> Row | None:
    sql = "SELECT * FROM knowledge.documents WHERE collection = %s AND source = %s"
    return await (await conn.execute(sql + (" FOR UPDATE" if lock else ""), (collection, source))).fetchone()


async def find_by_hash(*, conn: Conn, collection: str, sha256: str) -> Row | None:
    return await (await conn.execute(
        "SELECT * FROM knowledge.documents WHERE collection = %s AND sha256 = %s AND status <> 'failed' LIMIT 1",
        (collection, sha256),
    )).fetchone()


async def get_document(*, conn: Conn, document_id: str) -> Row | None:
    """The document, with `graph_chunks_read`: how many chunks of its version the graph has read."""
    return await (await conn.execute(
        f"SELECT d.*, {_GRAPH_READ} FROM knowledge.documents d WHERE d.id = %s",  # noqa: S608 - fixed text
        (document_id,))).fetchone()


async def insert_document(
    *, conn: Conn, document_id: str, collection: str, source: str, title: str | None, media_type: str,
    sha256: str, tags: list[str], doc_date: date, created_by: str,
) -> Row:
    row = await (await conn.execute(
        """INSERT INTO knowledge.documents (id, collection, source, title, media_type, sha256, tags,
               doc_date, status, created_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'queued', %s) RETURNING *""",
        (document_id, collection, source, title, media_type, sha256, tags, doc_date, created_by),
    )).fetchone()
    assert row is not None  # noqa: S101 - RETURNING always yields the row
    return row


async def new_version(
    *, conn: Conn, document_id: str, title: str | None, media_type: str, sha256: str, tags: list[str],
    doc_date: date,
) -> Row:
    row = await (await conn.execute(
        """UPDATE knowledge.documents SET version = version + 1, title = %s, media_type = %s, sha256 = %s,
               tags = %s, doc_date = %s, status = 'queued', error = NULL, updated_at = now()
           WHERE id = %s RETURNING *""",
        (title, media_type, sha256, tags, doc_date, document_id),
    )).fetchone()
    assert row is not None  # noqa: S101
    return row


async def set_document_status(
    *, conn: Conn, document_id: str, status: str, error: str | None = None, chunk_count: int | None = None,
    title: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE knowledge.documents SET status = %s, error = %s,
               chunk_count = COALESCE(%s, chunk_count), title = COALESCE(title, %s), updated_at = now()
           WHERE id = %s""",
        (status, error, chunk_count, title, document_id),
    )


async def set_graph_status(*, conn: Conn, document_id: str, status: str, error: str | None = None) -> None:
    """Where the document's graph extraction stands: off, pending, extracting, done or failed."""
    await conn.execute("UPDATE knowledge.documents SET graph_status = %s, graph_error = %s WHERE id = %s",
                       (status, error, document_id))


_GRAPH_READ = """(SELECT count(*) FILTER (WHERE c.graph_read) FROM knowledge.chunks c
                   WHERE c.document_id = d.id AND c.version = d.version) AS graph_chunks_read"""


async def list_documents(*, conn: Conn, collections: list[str], limit: int, offset: int) -> list[Row]:
    return await (await conn.execute(
        f"""SELECT d.*, {_GRAPH_READ} FROM knowledge.documents d
            WHERE d.collection = ANY(%s) ORDER BY d.updated_at DESC LIMIT %s OFFSET %s""",  # noqa: S608
        (collections, limit, offset),
    )).fetchall()


async def collection_counts(*, conn: Conn, collections: list[str] | None) -> dict[str, int]:
    """Documents per collection (all collections when `collections` is None)."""
    rows = await (await conn.execute(
        """SELECT collection, count(*) AS documents FROM knowledge.documents
            WHERE %(all)s OR collection = ANY(%(names)s) GROUP BY collection""",
        {"all": collections is None, "names": collections or []},
    )).fetchall()
    return {r["collection"]: int(r["documents"]) for r in rows}


async def delete_document(*, conn: Conn, document_id: str) -> None:
    row = await (await conn.execute(
        "DELETE FROM knowledge.documents WHERE id = %s RETURNING sha256", (document_id,))).fetchone()
    if row:
        await conn.execute(
            """DELETE FROM knowledge.blobs b WHERE sha256 = %s
               AND NOT EXISTS (SELECT 1 FROM knowledge.documents d WHERE d.sha256 = b.sha256)""",
            (row["sha256"],),
        )


async def put_text(*, conn: Conn, document_id: str, version: int, content: str) -> None:
    await conn.execute(
        """INSERT INTO knowledge.texts (document_id, version, content) VALUES (%s, %s, %s)
           ON CONFLICT (document_id, version) DO UPDATE SET content = EXCLUDED.content""",
        (document_id, version, content),
    )


async def delete_version_texts(*, conn: Conn, document_id: str, keep_version: int) -> None:
    await conn.execute("DELETE FROM knowledge.texts WHERE document_id = %s AND version <> %s",
                       (document_id, keep_version))


