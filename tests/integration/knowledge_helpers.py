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


def ingest_text(client: httpx.Client, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/knowledge/v1/documents", json={"text": text, **fields})
    assert response.status_code in (200, 202), response.text
    body = response.json()
    if body["job"]:
        job = wait_for_job(client, body["job"]["id"])
        assert job["state"] == "done", job
    return body


def search(client: httpx.Client, q: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/knowledge/v1/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()["hits"]
