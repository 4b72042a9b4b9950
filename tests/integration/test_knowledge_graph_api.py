"""The knowledge graph over HTTP, extracted by the real local model (SmolLM2 through llama.cpp)
into FalkorDB: lookup, neighbourhood with citations, paths, "as of", supersession, deletion,
isolation and admin Cypher."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import httpx
import pytest

from tests.integration.conftest import Platform, create_key
from tests.integration.knowledge_helpers import auth, ingest_text

TEXT = "Ada Lovelace worked with Charles Babbage in London. Charles Babbage designed the Analytical Engine."


@pytest.fixture
def client(platform: Platform) -> httpx.Client:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as c:
        yield c


def entity(client: httpx.Client, name: str, collection: str) -> dict[str, object]:
    found = client.get("/api/knowledge/v1/entities", params={"q": name, "collection": collection}).json()
    assert found, f"no entity {name!r} extracted"
    return found[0]


def test_lookup_neighbourhood_paths_with_citations(client: httpx.Client) -> None:
    col = f"g-{uuid.uuid4().hex[:8]}"
    doc = ingest_text(client, TEXT, source="history.txt", collection=col)["document"]
    ada = entity(client, "lovelace", col)
    babbage = entity(client, "charles babbage", col)
    detail = client.get(f"/api/knowledge/v1/entities/{ada['id']}", params={"collection": col}).json()
    fact = next(f for f in detail["facts"] if f["relation"] == "worked_with")
    assert fact["target_id"] == babbage["id"] and fact["model"].startswith("SmolLM2")
    citation = fact["citation"]
    assert citation["document_id"] == doc["id"] and citation["source"] == "history.txt"
    assert TEXT[citation["start"]:citation["end"]] == citation["text"]
    hood = client.get(f"/api/knowledge/v1/entities/{babbage['id']}/neighbourhood",
                      params={"collection": col, "hops": 2}).json()
    names = {e["name"] for e in hood["entities"]}
    assert {"Ada Lovelace", "Charles Babbage"} <= names
    engine = next((e for e in hood["entities"] if "Engine" in e["name"]), None)
    if engine is not None:
        paths = client.get("/api/knowledge/v1/paths", params={"from": ada["id"], "to": engine["id"],
                                                              "collection": col}).json()
        assert paths and paths[0]["entities"][0]["id"] == ada["id"]
    long_ago = client.get(f"/api/knowledge/v1/entities/{babbage['id']}/neighbourhood",
                          params={"collection": col, "as_of": "2001-01-01T00:00:00Z"}).json()
    assert long_ago["facts"] == []


def test_new_version_closes_old_facts_and_delete_removes_them(client: httpx.Client) -> None:
    col = f"g-{uuid.uuid4().hex[:8]}"
    ingest_text(client, TEXT, source="history.txt", collection=col)
    ada = entity(client, "lovelace", col)
    before = dt.datetime.now(dt.UTC).isoformat()
    doc = ingest_text(client, "Grace Hopper worked on the Harvard Mark I at Harvard University.",
                      source="history.txt", collection=col)["document"]
    now_facts = client.get(f"/api/knowledge/v1/entities/{ada['id']}", params={"collection": col}).json()["facts"]
    assert now_facts == []  # superseded: closed, not valid now
    then = client.get(f"/api/knowledge/v1/entities/{ada['id']}", params={"collection": col, "as_of": before}).json()
    assert then["facts"] and all(f["valid_to"] is not None for f in then["facts"])
    assert all(f["citation"] is None for f in then["facts"])  # that version's text is gone from the index
    assert client.delete(f"/api/knowledge/v1/documents/{doc['id']}").status_code == 204
    assert client.get("/api/knowledge/v1/entities", params={"q": "lovelace", "collection": col}).json() == []
    assert client.get(f"/api/knowledge/v1/entities/{ada['id']}", params={"collection": col}).status_code == 404


def test_graph_respects_collections_and_cypher_is_admin_only(platform: Platform, client: httpx.Client) -> None:
    col = f"g-{uuid.uuid4().hex[:8]}"
    ingest_text(client, TEXT, source="history.txt", collection=col)
    ada = entity(client, "lovelace", col)
    scoped_user = asyncio.run(create_key(platform.backends, "user", ["elsewhere"]))
    scoped_admin = asyncio.run(create_key(platform.backends, "admin", ["elsewhere"]))
    with httpx.Client(base_url=platform.url, headers=auth(scoped_user)) as other:
        assert other.get("/api/knowledge/v1/entities", params={"q": "ada", "collection": col}).status_code == 403
        assert other.get(f"/api/knowledge/v1/entities/{ada['id']}").status_code == 404  # own collection: unknown
        assert other.get(f"/api/knowledge/v1/entities/{ada['id']}/neighbourhood").status_code == 404
        assert other.post("/api/knowledge/v1/cypher", json={"query": "MATCH (n) RETURN n"}).status_code == 403
    with httpx.Client(base_url=platform.url, headers=auth(scoped_admin)) as admin:
        refused = admin.post("/api/knowledge/v1/cypher", json={"query": "MATCH (n) RETURN n", "collection": col})
        assert refused.status_code == 403 and "for every collection" in refused.json()["detail"]
    ran = client.post("/api/knowledge/v1/cypher", json={
        "query": "MATCH (e:Entity) WHERE e.name = $name RETURN e.name AS name, e.type AS type",
        "parameters": {"name": "Ada Lovelace"}, "collection": col})
    assert ran.status_code == 200 and ran.json()["rows"][0][0] == "Ada Lovelace"
    write = client.post("/api/knowledge/v1/cypher", json={"query": "MATCH (n) DETACH DELETE n", "collection": col})
    assert write.status_code == 422 and "only read queries" in write.json()["detail"]
    assert entity(client, "lovelace", col)["id"] == ada["id"]


def test_graph_expansion_adds_chunks_about_named_entities(client: httpx.Client) -> None:
    col = f"g-{uuid.uuid4().hex[:8]}"
    ingest_text(client, TEXT, source="history.txt", collection=col)
    ingest_text(client, "The weather in the valley was mild that spring.", source="weather.txt", collection=col)
    response = client.get("/api/knowledge/v1/search", params={"q": "Who did Ada Lovelace work with?", "collection": col,
                                                              "mode": "hybrid_graph"})
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert hits[0]["source"] == "history.txt" and hits[0]["graph_rank"] == 1
    assert all(h["graph_rank"] is None for h in hits if h["source"] == "weather.txt")
    plain = client.get("/api/knowledge/v1/search", params={"q": "Who did Ada Lovelace work with?", "collection": col})
    assert all(h["graph_rank"] is None for h in plain.json()["hits"])
