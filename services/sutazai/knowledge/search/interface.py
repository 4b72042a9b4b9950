"""What every search index offers: keyword (BM25 or full-text) and vector retrieval over
chunks, with the same filters, always confined to explicit collections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sutazai.lib.fusion import weighted_rrf


@dataclass(frozen=True)
class IndexedChunk:
    chunk_id: str
    document_id: str
    collection: str
    text: str
    heading: str | None
    tags: list[str]
    doc_date: date
    embedding: list[float]


@dataclass(frozen=True)
class SearchFilters:
    """Collections are mandatory: no query ever runs across every collection by accident."""

    collections: list[str]
    document_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # a chunk must carry all of them
    date_from: date | None = None
    date_to: date | None = None

    def __post_init__(self) -> None:
        if not self.collections:
            raise ValueError("a search must name at least one collection")


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    score: float


class SearchIndex(Protocol):
    name: str

    async def ensure_ready(self) -> None: ...

    async def upsert(self, chunks: Sequence[IndexedChunk]) -> None: ...

    async def delete_chunks(self, chunk_ids: Sequence[str]) -> None: ...

    async def delete_document(self, document_id: str) -> None: ...

    async def keyword(self, query: str, filters: SearchFilters, k: int) -> list[Hit]: ...

    async def vector(self, embedding: Sequence[float], filters: SearchFilters, k: int) -> list[Hit]: ...

    async def count(self, filters: SearchFilters) -> int: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hit]], *, k: int = 60,
                           weights: Sequence[float] | None = None) -> list[Hit]:
    """Fuse ranked lists: score(d) = sum over lists of w / (k + rank), w = 1 unless weighted.
    Robust to scores on different scales, which is why BM25 and cosine similarity can be
    combined at all; a list weighted 0 adds nothing."""
    fused = weighted_rrf([[h.chunk_id for h in ranking] for ranking in rankings], k=k, weights=weights)
    return [Hit(cid, s) for cid, s in fused]
