"""The ingestion pipeline (parse, chunk, embed, index) and hybrid retrieval, with fakes at
their interfaces: the embedder, the search index, the passage source and the graph."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sutazai.knowledge.chunking import chunk_document
from sutazai.knowledge.graph.interface import Fact
from sutazai.knowledge.parsing import parse
from sutazai.knowledge.pipeline import chunk_rows, embed_and_index
from sutazai.knowledge.retrieval import Retriever
from sutazai.knowledge.search.interface import SearchFilters
from sutazai.lib.contracts.knowledge import SearchMode
from sutazai.lib.errors import ValidationFailed
from tests.unit.fakes import FakeEmbedder, FakeGraphFacts, FakePassages, FakeSearchIndex

HANDBOOK = b"""# Leave

Staff get 25 days of paid leave a year. Unused days expire in March.

# Coffee

The espresso machine on floor 2 is cleaned every Friday by the facilities team.

# Security

Passwords are rotated every 90 days. Badges must be worn at all times on site.
"""
DOCUMENT = {"id": "0b1f6a3e-1c4e-4f51-9a55-6c2b2d7f0a11", "version": 2, "collection": "hr",
            "tags": ["handbook"], "doc_date": dt.date(2026, 1, 5)}


def rows(max_chars: int = 200) -> list[dict[str, Any]]:
    return chunk_rows(DOCUMENT, chunk_document(parse(HANDBOOK, "text/markdown"), max_chars=max_chars))


async def test_the_pipeline_embeds_and_indexes_every_chunk_in_batches_with_progress() -> None:
    embedder, index, progress = FakeEmbedder(), FakeSearchIndex(), []
    chunks = rows()

    async def report(done: int, total: int) -> None:
        progress.append((done, total))

    await embed_and_index(DOCUMENT, chunks, embedder=embedder, index=index, batch=2, progress=report)
    assert len(chunks) >= 3 and set(index.chunks) == {r["chunk_id"] for r in chunks}
    assert [len(texts) for texts, _ in embedder.calls] == [2] * (len(chunks) // 2) + [1] * (len(chunks) % 2)
    assert all(kind == "passage" for _, kind in embedder.calls)
    assert progress[-1] == (len(chunks), len(chunks)) and [d for d, _ in progress] == sorted(d for d, _ in progress)
    coffee = next(c for c in index.chunks.values() if "espresso" in c.text)
    assert coffee.heading == "Coffee" and coffee.tags == ["handbook"] and coffee.doc_date == dt.date(2026, 1, 5)
    assert any(text.startswith("Coffee\n") for texts, _ in embedder.calls for text in texts)  # heading embedded too


def test_chunk_ids_are_stable_so_a_rerun_rewrites_the_same_chunks() -> None:
    first, again = rows(), rows()
    assert [r["chunk_id"] for r in first] == [r["chunk_id"] for r in again]
    assert len({r["chunk_id"] for r in first}) == len(first)
    other_version = chunk_rows({**DOCUMENT, "version": 3}, chunk_document(parse(HANDBOOK, "text/markdown"),
                                                                             max_chars=200))
    assert not {r["chunk_id"] for r in first} & {r["chunk_id"] for r in other_version}
    text = HANDBOOK.decode()
    for row in first:  # offsets cite the exact text
        assert row["text"] in text[row["start_offset"]:row["end_offset"]] or row["text"].strip() in text


async def indexed() -> tuple[Retriever, FakeSearchIndex, list[dict[str, Any]], FakeEmbedder]:
    embedder, index, chunks = FakeEmbedder(), FakeSearchIndex(), rows()

    async def ignore(done: int, total: int) -> None:
        del done, total

    await embed_and_index(DOCUMENT, chunks, embedder=embedder, index=index, batch=8, progress=ignore)
    stored = [{**r, "source": "handbook.md", "title": "Handbook"} for r in chunks]
    return Retriever(passages=FakePassages(stored), index=index, embedder=embedder), index, stored, embedder


async def test_hybrid_search_fuses_both_rankings_and_cites_the_stored_passage() -> None:
    retriever, _, _, _ = await indexed()
    hits = await retriever.search(query="how many days of paid leave", filters=SearchFilters(collections=["hr"]), k=2)
    assert "25 days of paid leave" in hits[0].text and hits[0].source == "handbook.md"
    assert hits[0].keyword_rank == 1 and hits[0].vector_rank is not None
    assert hits[0].score > hits[-1].score and hits[0].start < hits[0].end


async def test_keyword_mode_never_embeds_and_other_collections_are_invisible() -> None:
    retriever, _, _, embedder = await indexed()
    before = len(embedder.calls)
    hits = await retriever.search(query="espresso", filters=SearchFilters(collections=["hr"]), mode=SearchMode.keyword)
    assert [h.heading for h in hits] == ["Coffee"] and len(embedder.calls) == before
    assert await retriever.search(query="espresso", filters=SearchFilters(collections=["finance"])) == []


async def test_a_hit_whose_passage_is_gone_is_dropped_not_shown_empty() -> None:
    retriever, index, stored, embedder = await indexed()
    gone = next(r for r in stored if "espresso" in r["text"])
    partial = Retriever(passages=FakePassages([r for r in stored if r is not gone]), index=index, embedder=embedder)
    hits = await partial.search(query="espresso machine", filters=SearchFilters(collections=["hr"]))
    assert gone["chunk_id"] not in {h.chunk_id for h in hits}


async def test_graph_mode_adds_chunks_that_state_facts_about_named_entities() -> None:
    retriever, index, stored, embedder = await indexed()
    badge = next(r for r in stored if "Badges" in r["text"])
    fact = Fact(id="f1", source_id="e-team", relation="cleans", target_id="e-machine", document_id=DOCUMENT["id"],
                chunk_id=badge["chunk_id"], version=2, model="fake", extracted_at=0.0, valid_from=0.0)
    graphed = Retriever(passages=FakePassages(stored, entities={"facilities team": "e-team"}), index=index,
                        embedder=embedder, graph=FakeGraphFacts({"e-team": [fact]}))  # type: ignore[arg-type]
    hits = await graphed.search(query="what does the facilities team do", mode=SearchMode.hybrid_graph,
                                filters=SearchFilters(collections=["hr"]))
    assert next(h for h in hits if h.chunk_id == badge["chunk_id"]).graph_rank == 1


@pytest.mark.parametrize(("query", "fragment"), [("   ", "q is empty"), ("x" * 2001, "the limit is 2000")])
async def test_a_query_that_cannot_run_says_why(query: str, fragment: str) -> None:
    retriever, _, _, _ = await indexed()
    with pytest.raises(ValidationFailed, match=fragment):
        await retriever.search(query=query, filters=SearchFilters(collections=["hr"]))
