"""Helpers for knowledge tests over HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/knowledge/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['state']} at {job['percent']}%")
        time.sleep(0.2)


def wait_for_graph(client: httpx.Client, document_id: str, timeout: float = 300) -> dict[str, Any]:
    """The document once its graph stage has settled (done, failed or off)."""
    deadline = time.monotonic() + timeout
    while True:
        document = client.get(f"/api/knowledge/v1/documents/{document_id}").json()
        if document["graph"]["state"] in ("done", "failed", "off"):
            return document
        if time.monotonic() > deadline:
            raise TimeoutError(f"graph of {document_id} still {document['graph']}")
        time.sleep(0.2)


def ingest_text(client: httpx.Client, text: str, *, graph: bool = True, **fields: Any) -> dict[str, Any]:
    """Ingest `text` and wait until it is searchable, and (`graph`) until its graph is read too."""
    response = client.post("/api/knowledge/v1/documents", json={"text": text, **fields})
    body = response.json()
    # 202: a new document, with its ingestion job; 200: the same content is already in the collection
    assert response.status_code == (200 if body.get("duplicate") else 202), response.text
    assert body["duplicate"] or body["job"] is not None, body
    if body["job"]:
        job = wait_for_job(client, body["job"]["id"])
        assert job["state"] == "done", job
        if graph:
            settled = wait_for_graph(client, body["document"]["id"])
            assert settled["graph"]["state"] != "failed", settled
    return body


def search(client: httpx.Client, q: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/knowledge/v1/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()["hits"]


async def index_stage(ingestor: Any, db: Any, *, collection: str, source: str, text: str) -> tuple[str, str]:
    """Submit `text` and run its index job in this process; (document id, its queued graph job id)."""
    from sutazai.knowledge.ingest import Upload
    from sutazai.knowledge.store import jobs

    submitted = await ingestor.submit(Upload(content=text.encode(), collection=collection, source=source),
                                      actor="test")
    assert submitted.job is not None
    await ingestor.process(str(submitted.job["id"]), final_attempt=True)
    doc_id = str(submitted.document["id"])
    async with db.connection() as conn:
        graph_job = next(j for j in await jobs.document_jobs(conn=conn, document_id=doc_id) if j["kind"] == "graph")
    return doc_id, str(graph_job["id"])
