"""What the knowledge service does to its own tables for operations outside a running service:
after a restore, the jobs a snapshot caught running are queued again (the worker re-drives queued
jobs from PostgreSQL), and the restored documents are listed so the graph import keeps only their
facts. `sutazai backup` and `sutazai restore` call these instead of reading and writing
knowledge's tables themselves."""

from __future__ import annotations

from sutazai.knowledge.store import jobs


async def settle_restored(dsn: str) -> dict[str, set[str]]:
    """Queue again the interrupted jobs of a restored database; its documents by collection."""
    import psycopg
    from psycopg.rows import dict_row

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        await jobs.requeue_interrupted(conn=conn)
        return await jobs.documents_by_collection(conn=conn)


async def document_collections(dsn: str) -> list[str]:
    """Every collection that holds a document (the graph is exported collection by collection)."""
    import psycopg
    from psycopg.rows import dict_row

    async with await psycopg.AsyncConnection.connect(dsn, row_factory=dict_row) as conn:
        return await jobs.collections_with_documents(conn=conn)
