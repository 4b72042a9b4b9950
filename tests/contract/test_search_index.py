"""One contract for every SearchIndex: PostgreSQL (always) and Elasticsearch 8 whenever
SUTAZAI_TEST_ELASTICSEARCH_URL is set (with SUTAZAI_TEST_ELASTICSEARCH_PASSWORD if secured)."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import AsyncIterator
from datetime import date

import psycopg
import pytest

from sutazai.knowledge.search.interface import IndexedChunk, SearchFilters, SearchIndex
from sutazai.knowledge.search.postgres import PostgresSearchIndex
from sutazai.knowledge.store import MIGRATIONS
from sutazai.lib import migrations
from sutazai.lib.db import Database
from tests.conftest import Backends, real_backend

ES = os.environ.get("SUTAZAI_TEST_ELASTICSEARCH_URL")
INDEXES = ["postgres", real_backend("elasticsearch", ES, "SUTAZAI_TEST_ELASTICSEARCH_URL",
                                    "no Elasticsearch server or image on this machine")]
TEXTS = {
    "river": ("The Loire is the longest river in France.", [1.0, 0.0, 0.0]),
    "capital": ("Paris is the capital of France.", [0.0, 1.0, 0.0]),
    "pasta": ("Carbonara is a pasta dish from Rome.", [0.0, 0.0, 1.0]),
}


def unit(vector: list[float]) -> list[float]:
    padded = vector + [0.01] * (384 - len(vector))
    norm = math.sqrt(sum(x * x for x in padded))
    return [x / norm for x in padded]


@pytest.fixture(params=INDEXES)
async def index(request: pytest.FixtureRequest, backends: Backends) -> AsyncIterator[tuple[SearchIndex, Database]]:
    dsn = backends.postgres.dsn()
    migrations.upgrade(dsn=dsn, schema="knowledge", script_location=MIGRATIONS)
    db = Database(dsn, max_size=2)
    await db.open(timeout=10)
    if request.param == "postgres":
        made: SearchIndex = PostgresSearchIndex(db)
    else:
        from sutazai.knowledge.search.elastic import ElasticsearchSearchIndex

        made = ElasticsearchSearchIndex.from_url(str(ES), username="elastic",
                                                 password=os.environ.get("SUTAZAI_TEST_ELASTICSEARCH_PASSWORD"),
                                                 index=f"sutazai-test-{uuid.uuid4().hex[:8]}")
    await made.ensure_ready()
    yield made, db
    await made.close()
    await db.close()


async def seed(index: SearchIndex, backends: Backends, collection: str) -> dict[str, str]:
    """Chunks must exist in the chunk store first (the PostgreSQL index references them)."""
    doc, ids = str(uuid.uuid4()), {}
    with psycopg.connect(backends.postgres.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO knowledge.blobs (sha256, content, size) VALUES (%s, 'x', 1) ON CONFLICT DO NOTHING",
                     (doc,))
        conn.execute("""INSERT INTO knowledge.documents (id, collection, source, media_type, sha256, status, created_by)
                        VALUES (%s, %s, %s, 'text/plain', %s, 'ready', 't')""", (doc, collection, doc, doc))
        for ordinal, (key, (text, _)) in enumerate(TEXTS.items()):
            ids[key] = str(uuid.uuid4())
            conn.execute("""INSERT INTO knowledge.chunks (id, document_id, collection, version, ordinal, start_offset,
                            end_offset, text) VALUES (%s, %s, %s, 1, %s, 0, %s, %s)""",
                         (ids[key], doc, collection, ordinal, len(text), text))
    tags = {"river": ["geo"], "capital": ["geo", "politics"], "pasta": ["food"]}
    dates = {"river": date(2020, 1, 1), "capital": date(2022, 6, 1), "pasta": date(2024, 3, 1)}
    await index.upsert([IndexedChunk(ids[k], doc, collection, text, None, tags[k], dates[k], unit(vec))
                        for k, (text, vec) in TEXTS.items()])
    ids["document"] = doc
    return ids


async def test_keyword_and_vector_rank_the_right_chunk(index: tuple[SearchIndex, Database], backends: Backends) -> None:
    idx, _ = index
    col = f"s{uuid.uuid4().hex[:8]}"
    ids = await seed(idx, backends, col)
    filters = SearchFilters(collections=[col])
    assert (await idx.keyword("longest river", filters, 3))[0].chunk_id == ids["river"]
    assert (await idx.keyword("what is the capital city", filters, 3))[0].chunk_id == ids["capital"]
    assert await idx.keyword("zeppelin", filters, 3) == []
    assert (await idx.vector(unit([0.0, 0.1, 1.0]), filters, 3))[0].chunk_id == ids["pasta"]
    assert await idx.count(filters) == 3


async def test_filters_and_collections(index: tuple[SearchIndex, Database], backends: Backends) -> None:
    idx, _ = index
    col, other = f"s{uuid.uuid4().hex[:8]}", f"s{uuid.uuid4().hex[:8]}"
    ids = await seed(idx, backends, col)
    await seed(idx, backends, other)
    assert {h.chunk_id for h in await idx.vector(unit([1, 1, 1]), SearchFilters([col], tags=["geo"]), 10)} == \
        {ids["river"], ids["capital"]}
    assert {h.chunk_id for h in await idx.vector(unit([1, 1, 1]), SearchFilters([col], tags=["geo", "politics"]),
                                                 10)} == {ids["capital"]}
    dated = SearchFilters([col], date_from=date(2021, 1, 1), date_to=date(2023, 1, 1))
    assert [h.chunk_id for h in await idx.keyword("France", dated, 10)] == [ids["capital"]]
    assert len(await idx.vector(unit([1, 0, 0]), SearchFilters([col], document_ids=[ids["document"]]), 10)) == 3
    assert all(h.chunk_id in ids.values() for h in await idx.keyword("France", SearchFilters([col]), 10))


async def test_deletes(index: tuple[SearchIndex, Database], backends: Backends) -> None:
    idx, _ = index
    col = f"s{uuid.uuid4().hex[:8]}"
    ids = await seed(idx, backends, col)
    await idx.delete_chunks([ids["river"]])
    assert await idx.count(SearchFilters([col])) == 2
    await idx.delete_document(ids["document"])
    assert await idx.count(SearchFilters([col])) == 0


def test_filters_need_a_collection() -> None:
    with pytest.raises(ValueError, match="collection"):
        SearchFilters(collections=[])
