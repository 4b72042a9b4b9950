"""The knowledge service's contract: its paths and the request/response models other services and
clients exchange with it (the service's routes use these models as theirs)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field

PREFIX = "/api/knowledge/v1"
DOCUMENTS = f"{PREFIX}/documents"
COLLECTIONS = f"{PREFIX}/collections"
JOBS = f"{PREFIX}/jobs"
SEARCH = f"{PREFIX}/search"
ENTITIES = f"{PREFIX}/entities"
PATHS = f"{PREFIX}/paths"
CYPHER = f"{PREFIX}/cypher"

MEDIA_TYPES = {
    ".txt": "text/plain", ".text": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown",
    ".html": "text/html", ".htm": "text/html", ".pdf": "application/pdf", ".json": "application/json",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff", ".tiff": "image/tiff",
}
"""The file types a document may be uploaded as, by suffix (the CLI picks files by them)."""


class SearchMode(StrEnum):
    hybrid = "hybrid"
    keyword = "keyword"
    vector = "vector"
    hybrid_graph = "hybrid_graph"  # hybrid, plus chunks the graph links to entities named in the query


class SearchHit(BaseModel):
    chunk_id: str
    document_id: str
    source: str
    title: str | None
    heading: str | None
    page: int | None
    start: int = Field(description="offset of the passage in the document's text")
    end: int
    text: str
    score: float
    keyword_rank: int | None
    vector_rank: int | None
    graph_rank: int | None


class SearchResponse(BaseModel):
    query: str
    collection: str
    mode: SearchMode
    hits: list[SearchHit]


class CollectionOut(BaseModel):
    name: str
    documents: int


class EntityOut(BaseModel):
    id: str
    name: str
    type: str
    aliases: list[str]


class FactCitation(BaseModel):
    document_id: str
    chunk_id: str
    source: str
    start: int
    end: int
    page: int | None
    text: str


class FactOut(BaseModel):
    id: str
    source_id: str
    relation: str
    target_id: str
    document_id: str
    chunk_id: str
    model: str
    extracted_at: dt.datetime
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    citation: FactCitation | None = Field(description="the exact passage the fact was read from; null when "
                                                  "that document version has been superseded")


class GraphOut(BaseModel):
    entities: list[EntityOut]
    facts: list[FactOut]


class EntityDetail(EntityOut):
    facts: list[FactOut]
