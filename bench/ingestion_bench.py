"""Ingestion benchmarks, in one run on this machine, for one model (default: the test model,
SmolLM2-135M; pass --model for another installed one):

1. extraction: chunks/s and precision of extracted facts for the two graph extractors on the
   same paragraphs: `model` (the model lists entities and relations: how ingestion worked
   before) and `ner+model` (spaCy's NER finds the entities, the model only relates them).
   Precision is judged against facts labelled by hand (bench/labels/squad_facts.json) from
   SQuAD-shifts paragraphs, with Wilson 95% intervals;
2. time to searchable: a corpus of whole SQuAD-shifts articles (about 300 chunks) is ingested
   on the embedded backends; the clock stops when a question about the last article finds it.
   Before the two stages a document became searchable only after extraction had read every
   chunk: that time is the indexing time plus the chunks divided by the `model` extractor's
   rate measured in part 1 of the same run (an estimate, said so in the results).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import knowledge_bench  # noqa: E402 - the SQuAD-shifts loader

from sutazai.knowledge.chunking import chunk_document  # noqa: E402
from sutazai.knowledge.graph.extraction import GraphBuilder, grounded  # noqa: E402
from sutazai.knowledge.graph.falkordb_store import FalkorDBGraphStore  # noqa: E402
from sutazai.knowledge.graph.names import normalise  # noqa: E402
from sutazai.knowledge.ingest import Ingestor, Upload  # noqa: E402
from sutazai.knowledge.parsing import parse  # noqa: E402
from sutazai.knowledge.passages import StoredPassages  # noqa: E402
from sutazai.knowledge.retrieval import Retriever  # noqa: E402
from sutazai.knowledge.search.interface import SearchFilters  # noqa: E402
from sutazai.knowledge.search.postgres import PostgresSearchIndex  # noqa: E402
from sutazai.knowledge.store import MIGRATIONS  # noqa: E402
from sutazai.lib import migrations  # noqa: E402
from sutazai.lib.bus import EventBus  # noqa: E402
from sutazai.lib.contracts.knowledge import SearchMode  # noqa: E402
from sutazai.lib.db import Database  # noqa: E402
from sutazai.lib.models.factory import build_backend  # noqa: E402
from sutazai.lib.models.interface import ModelBackend  # noqa: E402
from sutazai.lib.redis_client import close_redis, redis_from_url  # noqa: E402
from sutazai.lib.settings import ModelSettings  # noqa: E402
from sutazai.runtime.postgres import EmbeddedPostgres  # noqa: E402
from sutazai.runtime.processes import free_port  # noqa: E402
from sutazai.runtime.redis_server import EmbeddedRedis  # noqa: E402

LABELS = ROOT / "labels" / "squad_facts.json"
EXTRACTORS = ("model", "ner+model")


def wilson(successes: int, trials: int, z: float = 1.96) -> list[float]:
    if trials == 0:
        return [0.0, 1.0]
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return [round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)]


def same_name(a: str, b: str) -> bool:
    x, y = normalise(a), normalise(b)
    return len(x) >= 3 and len(y) >= 3 and (x in y or y in x)


def correct(fact: dict[str, str], gold: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The labelled fact `fact` states, if any: both ends match (either way) and the label
    contains one of the labelled stems."""
    label = fact["relation"].replace("_", " ")
    for item in gold:
        ends = (same_name(fact["source"], item["source"]) and same_name(fact["target"], item["target"])) or (
            same_name(fact["source"], item["target"]) and same_name(fact["target"], item["source"]))
        if ends and any(stem in label for stem in item["relation"]):
            return item
    return None


async def extraction(model: ModelBackend, paragraphs: list[dict[str, Any]], speed_extra: int) -> dict[str, Any]:
    labelled = json.loads(LABELS.read_text())["paragraphs"]
    for entry in labelled:
        assert paragraphs[entry["index"]]["context"].startswith(entry["starts"]), "the SQuAD data changed"
    used = {e["index"] for e in labelled}
    extra = [i for i in range(0, len(paragraphs), 7) if i not in used][:speed_extra]
    texts = [(e["index"], paragraphs[e["index"]]["context"]) for e in labelled] + [
        (i, paragraphs[i]["context"]) for i in extra]
    gold_total = sum(len(e["facts"]) for e in labelled)
    out: dict[str, Any] = {"labelled_paragraphs": len(labelled), "labelled_facts": gold_total,
                           "timed_paragraphs": len(texts)}
    for name in EXTRACTORS:
        builder = GraphBuilder(db=None, store=None, model=model, extractor=name)  # type: ignore[arg-type]
        if name == "ner+model":
            from sutazai.knowledge.graph.candidates import warm_up

            warm_up()
        started = time.perf_counter()
        kept: dict[int, list[dict[str, str]]] = {}
        for index, text in texts:
            proposal = await builder.propose(text[:3000])
            ground = grounded(proposal, text)
            names = ground["entities"]
            kept[index] = [{"source": names[r["source"]]["name"], "relation": r["relation"],
                            "target": names[r["target"]]["name"]} for r in ground["relations"]]
        seconds = time.perf_counter() - started
        extracted = right = 0
        found: set[tuple[int, int]] = set()
        examples: dict[str, list[str]] = defaultdict(list)
        for entry in labelled:
            seen_here: set[tuple[str, str, str]] = set()
            for fact in kept[entry["index"]]:
                key = (normalise(fact["source"]), fact["relation"], normalise(fact["target"]))
                if key in seen_here:
                    continue
                seen_here.add(key)
                extracted += 1
                match = correct(fact, entry["facts"])
                line = f"{fact['source']} -{fact['relation']}-> {fact['target']}"
                if match is not None:
                    right += 1
                    found.add((entry["index"], entry["facts"].index(match)))
                    examples["correct"].append(line)
                else:
                    examples["wrong"].append(line)
        out[name] = {
            "seconds": round(seconds, 1), "chunks_per_second": round(len(texts) / seconds, 3),
            "model_calls": builder.model_calls, "facts_extracted": extracted, "facts_correct": right,
            "precision": round(right / extracted, 3) if extracted else None, "precision_95ci": wilson(right, extracted),
            "recall": round(len(found) / gold_total, 3), "recall_95ci": wilson(len(found), gold_total),
            "examples": {k: v[:8] for k, v in examples.items()},
        }
        print(f"  {name}: {json.dumps({k: v for k, v in out[name].items() if k != 'examples'})}")
    out["ratio_chunks_per_second_ner_to_model"] = round(
        out["ner+model"]["chunks_per_second"] / out["model"]["chunks_per_second"], 3)
    return out


def articles(paragraphs: list[dict[str, Any]], target_chunks: int, chunk_chars: int) -> list[tuple[str, str, str]]:
    """Whole articles (title, text, a question about it) until they make `target_chunks` chunks."""
    by_title: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for paragraph in paragraphs:
        by_title[paragraph["title"]].append(paragraph)
    chosen, chunks = [], 0
    for title, parts in by_title.items():
        text = "\n\n".join(p["context"] for p in parts)
        chunks += len(chunk_document(parse(text.encode(), "text/plain"), max_chars=chunk_chars))
        chosen.append((title, text, parts[-1]["questions"][0]))
        if chunks >= target_chunks:
            break
    return chosen


async def time_to_searchable(model: ModelBackend, paragraphs: list[dict[str, Any]], target_chunks: int,
                             root: Path) -> dict[str, Any]:
    pg = EmbeddedPostgres(root / "postgres", free_port(), root / "pg.password")
    rd = EmbeddedRedis(root / "redis", free_port(), root / "redis.password")
    pg.start()
    rd.start()
    try:
        migrations.upgrade(dsn=pg.dsn(), schema="knowledge", script_location=MIGRATIONS)
        db = Database(pg.dsn(), max_size=4)
        await db.open(timeout=30)
        redis = redis_from_url(rd.url())
        index = PostgresSearchIndex(db)
        graph_store = FalkorDBGraphStore.from_url(rd.url())
        ingestor = Ingestor(db=db, index=index, embedder=model, bus=EventBus(redis), graph=GraphBuilder(
            db=db, store=graph_store, model=model), extract_graph=True, max_bytes=10_000_000, chunk_chars=1200)
        retriever = Retriever(passages=StoredPassages(db), index=index, embedder=model, graph=None)  # type: ignore[arg-type]
        corpus = articles(paragraphs, target_chunks, 1200)
        filters = SearchFilters(collections=["wiki"])
        started = time.perf_counter()
        doc_ids = []
        for title, text, _ in corpus:  # what the index worker does with each upload, in order
            submitted = await ingestor.submit(Upload(content=text.encode(), collection="wiki", source=title,
                                                     declared_type="text/plain"), actor="bench")
            assert submitted.job is not None
            await ingestor.process(str(submitted.job["id"]), final_attempt=True)
            doc_ids.append(str(submitted.document["id"]))
        title, _, question = corpus[-1]
        hits = await retriever.search(query=question, filters=filters, k=5, mode=SearchMode.hybrid)
        searchable = time.perf_counter() - started
        async with db.connection() as conn:
            row = await (await conn.execute(
                "SELECT sum(chunk_count) AS chunks, sum(length(t.content)) AS chars FROM knowledge.documents d "
                "JOIN knowledge.texts t ON t.document_id = d.id")).fetchone()
            queued = await (await conn.execute(
                "SELECT count(*) AS n FROM knowledge.jobs WHERE kind = 'graph' AND state = 'queued'")).fetchone()
        await graph_store.close()
        await close_redis(redis)
        await db.close()
        return {"articles": [t for t, _, _ in corpus], "chunks": int(row["chunks"]), "bytes": int(row["chars"]),
                "question": question, "found_last_article": any(h.document_id == doc_ids[-1] for h in hits),
                "seconds_to_searchable": round(searchable, 1),
                "graph_jobs_queued_behind": int(queued["n"])}
    finally:
        rd.stop()
        pg.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = ModelSettings(llamacpp_model_path=args.model) if args.model else ModelSettings()
    model = build_backend(settings)
    results: dict[str, Any] = {
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "model": model.chat_model, "args": {k: str(v) for k, v in vars(args).items()}}
    paragraphs = knowledge_bench.squad()
    try:
        if args.part in ("all", "extraction"):
            print(f"extraction with {model.chat_model}")
            results["extraction"] = await extraction(model, paragraphs, args.speed_paragraphs)
        if args.part in ("all", "searchable"):
            print("time to searchable")
            measured = await time_to_searchable(model, paragraphs, args.chunks,
                                                Path(tempfile.mkdtemp(prefix="sutazai-bench-")))
            if "extraction" in results:
                rate = results["extraction"]["model"]["chunks_per_second"]
                before = measured["seconds_to_searchable"] + measured["chunks"] / rate
                measured["before_two_stages_seconds_estimate"] = round(before, 1)
                measured["ratio_before_to_after"] = round(before / measured["seconds_to_searchable"], 1)
            results["searchable"] = measured
            print(f"  {json.dumps(measured)}")
    finally:
        await model.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="a GGUF file (default: the configured model)")
    parser.add_argument("--part", choices=("all", "extraction", "searchable"), default="all")
    parser.add_argument("--speed-paragraphs", type=int, default=12,
                        help="unlabelled paragraphs added to the timed extraction sample")
    parser.add_argument("--chunks", type=int, default=300, help="chunks in the time-to-searchable corpus")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    out = args.out or ROOT / "results" / f"ingestion-{Path(results['model']).stem.lower()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
