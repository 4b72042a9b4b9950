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


CONNECTORS = f"{PREFIX}/connectors"


class ConnectorKind(StrEnum):
    folder = "folder"
    git = "git"
    imap = "imap"
    web = "web"


class ConnectorIn(BaseModel):
    """A source to sync into one collection. `config` by kind: folder {path, patterns?, recursive?};
    git {url, branch?, patterns?, history?, username?}; imap {host, port?, security?, username,
    mailbox?}; web {url, max_pages?, prefix?}."""

    name: str = Field(min_length=1, max_length=63, description="lower-case letters, digits, '-' or '_'")
    kind: ConnectorKind
    collection: str = Field(min_length=1, max_length=63, description="the collection it writes into")
    config: dict[str, object] = Field(description="where to read, by kind (see the model's description)")
    secret: str | None = Field(default=None, min_length=1, max_length=4096, description="password or token "
                               "(IMAP password, Git token); sealed at rest and never shown again")
    every_seconds: int | None = Field(default=None, ge=60, le=31 * 86_400, description="sync on this schedule; "
                                      "none: only when asked")


class ConnectorRunOut(BaseModel):
    id: str
    trigger: str = Field(description="schedule or manual")
    requested_by: str | None = Field(description="who asked for a manual run")
    state: str = Field(description="running, done, failed or interrupted (resumed by the next run)")
    seen: int
    added: int
    changed: int
    unchanged: int
    deleted: int
    failed: int
    errors: list[dict[str, str]] = Field(description="{item, reason} for each item or part that was not synced")
    error: str | None = Field(description="why the whole run failed")
    started_at: dt.datetime
    finished_at: dt.datetime | None


class ConnectorOut(BaseModel):
    id: str
    name: str
    kind: ConnectorKind
    collection: str
    config: dict[str, object]
    has_secret: bool
    every_seconds: int | None
    next_sync_at: dt.datetime | None = Field(description="when the next sync is due (none: only when asked)")
    syncing: bool = Field(description="a worker holds the connector for a sync now")
    items: int = Field(description="items synced and kept")
    created_by: str
    created_at: dt.datetime
    last_run: ConnectorRunOut | None
    runs: list[ConnectorRunOut] = Field(default_factory=list, description="the latest runs, newest first (one "
                                        "connector's view)")
