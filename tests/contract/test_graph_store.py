"""One contract for every GraphStore: FalkorDB (embedded, always) and Neo4j 5 whenever
SUTAZAI_TEST_NEO4J_URL (and SUTAZAI_TEST_NEO4J_PASSWORD) is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from sutazai.knowledge.graph.falkordb_store import FalkorDBGraphStore
from sutazai.knowledge.graph.interface import Entity, Fact, GraphStore
from sutazai.lib.errors import ValidationFailed
from tests.conftest import Backends, real_backend

NEO4J = os.environ.get("SUTAZAI_TEST_NEO4J_URL")
STORES = ["falkordb", real_backend("neo4j", NEO4J, "SUTAZAI_TEST_NEO4J_URL",
                                  "no Neo4j server or image on this machine")]


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, backends: Backends) -> AsyncIterator[GraphStore]:
    if request.param == "falkordb":
        made: GraphStore = FalkorDBGraphStore.from_url(backends.redis.url())
    else:
        from sutazai.knowledge.graph.neo4j_store import Neo4jGraphStore

        made = Neo4jGraphStore.from_url(str(NEO4J), user=os.environ.get("SUTAZAI_TEST_NEO4J_USER", "neo4j"),
                                        password=os.environ.get("SUTAZAI_TEST_NEO4J_PASSWORD", ""))
    yield made
    await made.close()


def ident() -> str:
    return str(uuid.uuid4())


async def seed(store: GraphStore, collection: str) -> dict[str, str]:
    """ada -worked_with-> babbage -designed-> engine; babbage -lived_in-> london (closed at t=50)."""
    names = {"ada": "Ada Lovelace", "babbage": "Charles Babbage", "engine": "Analytical Engine", "london": "London"}
    ids = {key: ident() for key in names}
    await store.ensure_ready(collection)
    for key, name in names.items():
        await store.upsert_entity(collection, Entity(ids[key], name, "other", ()))
    doc, chunk = ident(), ident()

    def fact(src: str, rel: str, dst: str, valid_from: float, valid_to: float | None = None, version: int = 1) -> Fact:
        return Fact(id=ident(), source_id=ids[src], relation=rel, target_id=ids[dst], document_id=doc,
                    chunk_id=chunk, version=version, model="test", extracted_at=valid_from,
                    valid_from=valid_from, valid_to=valid_to)

    await store.upsert_fact(collection, fact("ada", "worked_with", "babbage", 10))
    await store.upsert_fact(collection, fact("babbage", "designed", "engine", 20))
    await store.upsert_fact(collection, fact("babbage", "lived_in", "london", 10, 50))
    ids["document"] = doc
    return ids


async def test_neighbourhood_hops_relations_and_as_of(store: GraphStore) -> None:
    col = f"g{uuid.uuid4().hex[:8]}"
    ids = await seed(store, col)
    one = await store.neighbourhood(col, ids["ada"], hops=1, as_of=100)
    assert {e.name for e in one.entities} == {"Ada Lovelace", "Charles Babbage"}
    two = await store.neighbourhood(col, ids["ada"], hops=2, as_of=100)
    assert {e.name for e in two.entities} == {"Ada Lovelace", "Charles Babbage", "Analytical Engine"}
    assert {f.relation for f in two.facts} == {"worked_with", "designed"}
    past = await store.neighbourhood(col, ids["babbage"], hops=1, as_of=30)
    assert {f.relation for f in past.facts} == {"worked_with", "designed", "lived_in"}
    early = await store.neighbourhood(col, ids["babbage"], hops=1, as_of=15)
    assert {f.relation for f in early.facts} == {"worked_with", "lived_in"}
    only = await store.neighbourhood(col, ids["babbage"], hops=2, as_of=100, relations=["designed"])
    assert {f.relation for f in only.facts} == {"designed"}
    with pytest.raises(ValidationFailed, match="hops"):
        await store.neighbourhood(col, ids["ada"], hops=9, as_of=None)


async def test_paths_shortest_first_and_facts_of(store: GraphStore) -> None:
    col = f"g{uuid.uuid4().hex[:8]}"
    ids = await seed(store, col)
    found = await store.paths(col, ids["ada"], ids["engine"], max_hops=3, as_of=100)
    assert found and [e.name for e in found[0].entities] == ["Ada Lovelace", "Charles Babbage", "Analytical Engine"]
    assert [f.relation for f in found[0].facts] == ["worked_with", "designed"]
    assert await store.paths(col, ids["ada"], ids["london"], max_hops=3, as_of=100) == []
    facts = await store.facts_of(col, ids["babbage"], as_of=None)
    assert {f.relation for f in facts} == {"worked_with", "designed", "lived_in"}
    assert all(f.document_id == ids["document"] and f.model == "test" for f in facts)


async def test_superseded_facts_are_closed_not_deleted(store: GraphStore) -> None:
    col = f"g{uuid.uuid4().hex[:8]}"
    ids = await seed(store, col)
    closed = await store.close_facts(col, ids["document"], before_version=2, at=60)
    assert closed == 2  # the fact already closed at t=50 keeps its end
    assert (await store.neighbourhood(col, ids["ada"], hops=2, as_of=100)).facts == []
    kept = await store.neighbourhood(col, ids["ada"], hops=2, as_of=55)
    assert {f.relation for f in kept.facts} == {"worked_with", "designed"}
    assert {f.valid_to for f in kept.facts} == {60.0}


async def test_delete_document_removes_its_facts_and_orphans(store: GraphStore) -> None:
    col = f"g{uuid.uuid4().hex[:8]}"
    ids = await seed(store, col)
    await store.delete_document(col, ids["document"])
    assert await store.facts_of(col, ids["babbage"], as_of=None) == []
    assert await store.get_entities(col, [ids["ada"], ids["babbage"]]) == []


async def test_collections_do_not_see_each_other(store: GraphStore) -> None:
    first, second = f"g{uuid.uuid4().hex[:8]}", f"g{uuid.uuid4().hex[:8]}"
    ids = await seed(store, first)
    assert await store.get_entities(second, [ids["ada"]]) == []
    assert (await store.neighbourhood(second, ids["ada"], hops=2, as_of=None)).facts == []
    columns, rows = await store.read_only(second, "MATCH (e:Entity) WHERE e.collection = $collection "
                                          "RETURN e.name AS name", {"collection": second}, timeout_ms=2000)
    assert rows == []


async def test_read_only_runs_reads_and_refuses_writes(store: GraphStore) -> None:
    col = f"g{uuid.uuid4().hex[:8]}"
    await seed(store, col)
    columns, rows = await store.read_only(
        col, "MATCH (a:Entity)-[r:REL]->(b:Entity) WHERE r.relation = $rel AND a.collection = $collection "
             "RETURN a.name AS who, b.name AS what", {"rel": "designed", "collection": col}, timeout_ms=2000)
    assert columns == ["who", "what"] and rows == [["Charles Babbage", "Analytical Engine"]]
    with pytest.raises(ValidationFailed):
        await store.read_only(col, "CREATE (:Entity {name: $n})", {"n": "x"}, timeout_ms=2000)


async def test_read_only_refuses_procedures_and_load_csv_before_anything_runs(store: GraphStore) -> None:
    """The database's own plan decides (a query the text check never saw): no procedure runs and
    LOAD CSV opens no connection, not even to a listener on loopback."""
    import socket

    col = f"g{uuid.uuid4().hex[:8]}"
    await seed(store, col)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        for query in (f"LOAD CSV FROM 'https://127.0.0.1:{port}/rows.csv' AS row RETURN row",
                      f"LOAD CSV FROM 'http://127.0.0.1:{port}/rows.csv' AS row RETURN row",
                      "CALL dbms.procedures() YIELD name RETURN name",
                      "CALL db.labels() YIELD label RETURN label"):
            with pytest.raises(ValidationFailed, match="read-only Cypher endpoint does not run"):
                await store.read_only(col, query, {}, timeout_ms=2000)
        with pytest.raises(TimeoutError):
            listener.accept()


async def test_export_yields_every_entity_then_every_fact_and_reimports_the_same(store: GraphStore) -> None:
    col = f"g{uuid.uuid4().hex[:8]}"
    ids = await seed(store, col)
    exported = [item async for item in store.export(col, page=2)]  # pages smaller than the data
    entities = [i for i in exported if isinstance(i, Entity)]
    facts = [i for i in exported if isinstance(i, Fact)]
    assert exported == entities + facts  # entities first: a fact needs both of its ends
    assert {e.id for e in entities} == {ids[k] for k in ("ada", "babbage", "engine", "london")}
    assert len(facts) == 3 and {f.valid_to for f in facts} == {None, 50.0}
    await store.delete_document(col, ids["document"])  # facts and the entities they alone held: gone
    assert [item async for item in store.export(col)] == []
    for item in exported:  # what a restore does
        await (store.upsert_entity(col, item) if isinstance(item, Entity) else store.upsert_fact(col, item))
    again = [item async for item in store.export(col)]
    assert sorted(map(repr, again)) == sorted(map(repr, exported))
    assert [item async for item in store.export(f"g{uuid.uuid4().hex[:8]}")] == []  # no graph yet: nothing
