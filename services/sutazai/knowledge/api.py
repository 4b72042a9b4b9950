"""HTTP adapter of the knowledge service: documents, jobs, search."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError

from sutazai.knowledge.deps import Knowledge
from sutazai.knowledge.ingest import Upload
from sutazai.knowledge.retrieval import MAX_WEIGHT, FusionWeights
from sutazai.knowledge.search.interface import SearchFilters
from sutazai.lib.access import CollectionName, Principal
from sutazai.lib.contracts import knowledge as contract
from sutazai.lib.contracts.knowledge import CollectionOut, SearchHit, SearchMode, SearchResponse
from sutazai.lib.deps import CurrentPrincipal
from sutazai.lib.errors import BadRequest, ValidationFailed
from sutazai.lib.input_guard import check_text
from sutazai.lib.security import credential_from

router = APIRouter(prefix=contract.PREFIX, tags=["knowledge"])


class TextDocument(BaseModel):
    text: str = Field(description="the document's text")
    source: str | None = Field(default=None, max_length=1000,
                               description="stable name of the source; a new text under the same "
                                           "source replaces the old version")
    title: str | None = Field(default=None, max_length=500)
    collection: CollectionName | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    date: dt.date | None = None
    media_type: str = Field(default="text/plain", description="text/plain, text/markdown, text/html or "
                                                               "application/json")


class GraphStage(BaseModel):
    """The second stage of ingestion: the model reading the document for the knowledge graph."""

    state: str = Field(description="off (extraction disabled), pending, extracting, done or failed")
    chunks_read: int = Field(description="chunks of this version the graph has read")
    chunks: int = Field(description="chunks of this version in all")
    error: str | None = None


class DocumentOut(BaseModel):
    id: str
    collection: str
    source: str
    title: str | None
    media_type: str
    sha256: str
    version: int
    tags: list[str]
    date: dt.date
    status: str = Field(description="the first stage: queued, processing, ready (searchable) or failed")
    error: str | None
    chunk_count: int
    graph: GraphStage
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> DocumentOut:
        graph = GraphStage(state=row["graph_status"], chunks_read=int(row.get("graph_chunks_read") or 0),
                           chunks=row["chunk_count"], error=row["graph_error"])
        return cls(id=str(row["id"]), collection=row["collection"], source=row["source"], title=row["title"],
                   media_type=row["media_type"], sha256=row["sha256"], version=row["version"],
                   tags=list(row["tags"]), date=row["doc_date"], status=row["status"], error=row["error"],
                   chunk_count=row["chunk_count"], graph=graph, created_at=row["created_at"],
                   updated_at=row["updated_at"])


class JobOut(BaseModel):
    id: str
    document_id: str
    kind: str = Field(description="index (makes the document searchable) or graph (extracts entities and "
                                  "relations afterwards)")
    state: str
    percent: float
    stage: str | None
    error: str | None
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> JobOut:
        return cls(id=str(row["id"]), document_id=str(row["document_id"]), kind=row["kind"], state=row["state"],
                   percent=row["progress"], stage=row["stage"], error=row["error"], attempts=row["attempts"],
                   created_at=row["created_at"], updated_at=row["updated_at"], finished_at=row["finished_at"])


class Submitted(BaseModel):
    document: DocumentOut
    job: JobOut | None
    duplicate: bool = Field(description="the same bytes were already ingested: nothing was done")


async def _upload_from(request: Request, principal: Principal) -> Upload:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _multipart(request, principal)
    if content_type.startswith("application/json"):
        try:
            body = TextDocument.model_validate(json.loads(await request.body()))
        except (ValueError, ValidationError) as exc:
            raise ValidationFailed(f"invalid JSON document: {exc}") from exc
        return Upload(content=body.text.encode(), collection=principal.collection(body.collection),
                      source=body.source or f"text:{hashlib.sha256(body.text.encode()).hexdigest()[:16]}",
                      declared_type=body.media_type,
                      title=body.title, tags=tuple(body.tags), doc_date=body.date)
    raise BadRequest("send the document as multipart/form-data (field 'file') or as JSON {\"text\": ...}")


async def _multipart(request: Request, principal: Principal) -> Upload:
    async with request.form() as form:  # closes the spooled upload files
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ValidationFailed("multipart upload needs a 'file' field")
        content = await upload.read()
        fields = {key: check_text(f"form field {key!r}", str(form.get(key) or ""))
                  for key in ("date", "tags", "collection", "source", "title")}
        filename, content_type = upload.filename, upload.content_type
    try:
        doc_date = dt.date.fromisoformat(fields["date"]) if fields["date"] else None
    except ValueError as exc:
        raise ValidationFailed("date must be YYYY-MM-DD") from exc
    tags = [t.strip() for t in fields["tags"].split(",") if t.strip()]
    return Upload(content=content, collection=principal.collection(fields["collection"] or None),
                  source=fields["source"] or filename or "upload", filename=filename,
                  declared_type=content_type, title=fields["title"] or None, tags=tuple(tags), doc_date=doc_date)


@router.post("/documents", response_model=Submitted, status_code=202, summary="Add a document "
             "(multipart file upload, or JSON text); ingestion runs as a job")
async def add_document(request: Request, principal: CurrentPrincipal, knowledge: Knowledge,
                       response: Response) -> Submitted:
    result = await knowledge.ingestor.submit(await _upload_from(request, principal), actor=principal.subject)
    if result.duplicate:
        response.status_code = 200
    return Submitted(document=DocumentOut.of(result.document),
                     job=JobOut.of(result.job) if result.job else None, duplicate=result.duplicate)


@router.get("/documents", response_model=list[DocumentOut], summary="List documents of a collection")
async def list_documents(principal: CurrentPrincipal, knowledge: Knowledge,
                         collection: Annotated[str | None, Query(max_length=63)] = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 100,
                         offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> list[DocumentOut]:
    rows = await knowledge.catalog.documents(principal=principal, collection=collection, limit=limit, offset=offset)
    return [DocumentOut.of(r) for r in rows]


@router.get("/collections", response_model=list[CollectionOut], summary="Collections you may use, with "
            "their document counts")
async def list_collections(principal: CurrentPrincipal, knowledge: Knowledge) -> list[CollectionOut]:
    counts = await knowledge.catalog.collections(principal=principal)
    return [CollectionOut(name=name, documents=n) for name, n in counts.items()]


@router.get("/documents/{document_id}", response_model=DocumentOut, summary="One document")
async def get_document(document_id: str, principal: CurrentPrincipal, knowledge: Knowledge) -> DocumentOut:
    return DocumentOut.of(await knowledge.catalog.document(principal=principal, document_id=document_id))


@router.delete("/documents/{document_id}", status_code=204, summary="Delete a document from the store, "
               "the search index and the graph")
async def delete_document(document_id: str, request: Request, principal: CurrentPrincipal,
                          knowledge: Knowledge) -> None:
    found = await knowledge.catalog.document(principal=principal, document_id=document_id)
    # recorded in the audit log, as the caller, before it happens: no record, no deletion
    await knowledge.audit.record(credential=credential_from(request), action="document.delete", target=document_id,
                                 detail={"title": found.get("title"), "source": found.get("source")},
                                 collections=[found["collection"]])
    await knowledge.ingestor.delete(document_id=document_id, allowed=principal.may_use)


@router.get("/documents/{document_id}/jobs", response_model=list[JobOut], summary="The document's jobs, "
            "newest first: indexing, then graph extraction")
async def document_jobs(document_id: str, principal: CurrentPrincipal, knowledge: Knowledge) -> list[JobOut]:
    return [JobOut.of(r) for r in await knowledge.catalog.jobs_of(principal=principal, document_id=document_id)]


@router.get("/jobs/{job_id}", response_model=JobOut, summary="State and percent done of an ingestion job")
async def get_job(job_id: str, principal: CurrentPrincipal, knowledge: Knowledge) -> JobOut:
    return JobOut.of(await knowledge.catalog.job(principal=principal, job_id=job_id))


@router.get("/search", response_model=SearchResponse, summary="Hybrid search (keyword + vector, fused "
            "with reciprocal-rank fusion) over a collection")
async def search(
    principal: CurrentPrincipal, knowledge: Knowledge,
    q: Annotated[str, Query(description="what to search for")],
    collection: Annotated[str | None, Query(max_length=63)] = None,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    mode: SearchMode = SearchMode.hybrid,
    document: Annotated[list[uuid.UUID] | None, Query(description="only these document ids")] = None,
    tag: Annotated[list[str] | None, Query(description="only chunks of documents with all these tags")] = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    known: Annotated[bool, Query(description="answer 404 (listing the collections you may use) when the "
                                             "named collection holds no documents, instead of no hits")] = False,
    w_keyword: Annotated[float, Query(ge=0.0, le=MAX_WEIGHT, description="weight of the keyword ranking in the "
                                      "fusion")] = 1.0,
    w_vector: Annotated[float, Query(ge=0.0, le=MAX_WEIGHT, description="weight of the vector ranking")] = 1.0,
    w_graph: Annotated[float, Query(ge=0.0, le=MAX_WEIGHT, description="weight of the graph ranking "
                                    "(hybrid_graph)")] = 1.0,
) -> SearchResponse:
    if known and collection is not None:
        name = await knowledge.catalog.require_known(principal=principal, collection=collection)
    else:
        name = principal.collection(collection)
    filters = SearchFilters(collections=[name], document_ids=[str(d) for d in document or []], tags=tag or [],
                            date_from=date_from, date_to=date_to)
    weights = FusionWeights(keyword=w_keyword, vector=w_vector, graph=w_graph)
    hits = await knowledge.retriever.search(query=q, filters=filters, k=k, mode=mode, weights=weights)
    return SearchResponse(query=q, collection=name, mode=mode,
                          hits=[SearchHit(**{k: v for k, v in h.__dict__.items() if k != "collection"})
                                for h in hits])
