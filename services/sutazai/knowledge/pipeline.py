"""The indexing half of ingestion, free of storage: a parsed document becomes chunk rows with
deterministic ids, and those rows are embedded in batches and written to the search index,
reporting progress after each batch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sutazai.knowledge.chunking import Chunk
from sutazai.knowledge.search.interface import IndexedChunk, SearchIndex
from sutazai.knowledge.store.chunks import chunk_id
from sutazai.lib.models import Embedder

Progress = Callable[[int, int], Awaitable[None]]
"""Called with (chunks indexed so far, chunks in all)."""


def chunk_rows(document: dict[str, Any], pieces: Sequence[Chunk]) -> list[dict[str, Any]]:
    """One row per chunk of this document version; ids are stable, so a rerun rewrites the same rows."""
    doc_id, version = str(document["id"]), int(document["version"])
    return [{
        "chunk_id": chunk_id(doc_id, version, c.ordinal), "document_id": doc_id,
        "collection": document["collection"], "ordinal": c.ordinal, "start_offset": c.start,
        "end_offset": c.end, "page": c.page, "heading": c.heading, "text": c.text,
    } for c in pieces]


def embedding_input(row: dict[str, Any]) -> str:
    """What is embedded for a chunk: its heading (when it has one) above its text."""
    return f"{row['heading']}\n{row['text']}" if row["heading"] else str(row["text"])


async def embed_and_index(document: dict[str, Any], rows: Sequence[dict[str, Any]], *, embedder: Embedder,
                          index: SearchIndex, batch: int, progress: Progress) -> None:
    """Embed `rows` `batch` at a time and upsert each batch into the index with the document's
    tags and date, so a search can filter on them."""
    for start in range(0, len(rows), batch):
        part = rows[start:start + batch]
        vectors = await embedder.embed([embedding_input(r) for r in part], kind="passage")
        await index.upsert([IndexedChunk(
            chunk_id=r["chunk_id"], document_id=r["document_id"], collection=r["collection"],
            text=r["text"], heading=r["heading"], tags=list(document["tags"]),
            doc_date=document["doc_date"], embedding=v) for r, v in zip(part, vectors, strict=True)])
        await progress(start + len(part), len(rows))
