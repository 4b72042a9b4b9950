"""The graph tools of the reasoning service read the same facts the knowledge API serves
(graph extraction on: SmolLM2 extracts, FalkorDB stores)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.conftest import Platform
from tests.integration.knowledge_helpers import auth, ingest_text

TEXT = "Marta Kowalski founded Brightwater Analytics in Gdansk. Brightwater Analytics builds tide sensors."


def steps_of(client: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    return client.get(f"/api/reasoning/v1/traces/{body['trace_id']}").json()["steps"]


def test_graph_lookup_and_path_match_the_knowledge_graph(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=600) as client:
        ingest_text(client, TEXT, source="brightwater.txt", collection="graphs")
        body = client.post("/api/reasoning/v1/ask", json={
            "question": "How is Marta Kowalski related to Brightwater Analytics?", "collection": "graphs",
            "options": {"samples": 1}}).json()
        steps = steps_of(client, body)
        lookups = [s for s in steps if s["tool"] == "graph_lookup"]
        path = next(s for s in steps if s["tool"] == "graph_path")
        assert [s["status"] for s in lookups] == ["ok", "ok"] and path["status"] == "ok"
        for step in lookups:
            found = client.get("/api/knowledge/v1/entities",
                               params={"q": step["input"]["name"], "collection": "graphs", "limit": 1}).json()
            if not found:
                assert step["output"] == {"entities": [], "facts": []}
                continue
            served = client.get(f"/api/knowledge/v1/entities/{found[0]['id']}/neighbourhood",
                                params={"collection": "graphs", "hops": 1}).json()
            assert sorted(step["output"]["entities"]) == sorted(e["name"] for e in served["entities"])
            assert sorted(f["chunk_id"] for f in step["output"]["facts"]) == sorted(
                f["chunk_id"] for f in served["facts"])
