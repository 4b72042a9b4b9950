"""Recall (procedural memory) with fakes at its boundaries: the learning service's memory (a
fake source), the embedder (fake vectors) and the judge (a fake verdict)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sutazai.lib.contracts.knowledge import SearchHit, SearchMode, SearchResponse
from sutazai.reasoning.tools.base import ToolContext
from sutazai.reasoning.tools.memory import Recall, RecallInput, RecallOutput, anchors, remembered

ASKED = "Who is the chief executive of Quillfeather Dynamics?"
PARAPHRASE = "Name the chief executive of Quillfeather Dynamics."
OTHER_FIRM = "Who is the chief executive of Marlow Freight?"
OTHER_ATTRIBUTE = "When was Quillfeather Dynamics founded?"


class FakeSource:
    def __init__(self, memory: dict[str, Any]) -> None:
        self.memory_held, self.asked = memory, 0

    async def memory(self, collection: str, credential: str) -> dict[str, Any]:  # noqa: ARG002
        self.asked += 1
        return self.memory_held


def fake_embed(vectors: dict[str, list[float]]) -> Any:
    calls: list[list[str]] = []

    async def embed(texts: Sequence[str]) -> list[list[float]]:
        calls.append(list(texts))
        return [vectors[t] for t in texts]

    embed.calls = calls  # type: ignore[attr-defined]
    return embed


def ctx() -> ToolContext:
    return ToolContext(collection="firms", credential="szk_test", today=dt.date(2026, 1, 1))


MEMORY = {"exemplars": [
    {"id": "e1", "question": PARAPHRASE, "answer": "Odile Brandvik", "origin": "correction",
     "passage": {"chunk_id": "c9", "document_id": "d9", "source": "board.txt", "text": "Odile Brandvik leads it."}},
    {"id": "e2", "question": OTHER_FIRM, "answer": "Harbin Lowe", "origin": "correction", "passage": None},
    {"id": "e3", "question": OTHER_ATTRIBUTE, "answer": "1987", "origin": "rating", "passage": None}],
    "demotions": [{"question": PARAPHRASE, "chunk_id": "c1"}, {"question": OTHER_ATTRIBUTE, "chunk_id": "c2"}]}
VECTORS = {ASKED: [1.0, 0.0], PARAPHRASE: [0.99, 0.14], OTHER_FIRM: [1.0, 0.01], OTHER_ATTRIBUTE: [0.95, 0.31]}


def test_anchors_are_the_names_and_numbers_not_the_wording() -> None:
    assert anchors(ASKED) == anchors(PARAPHRASE) == {"quillfeather", "dynamics"}
    assert anchors(OTHER_FIRM) == {"marlow", "freight"}
    assert anchors("Janet's ducks lay 16 eggs; she sells 1,200 a year. What does the CEO earn?") == {
        "janet", "16", "1200"}


async def test_without_a_judge_only_a_very_close_question_with_the_same_names_is_recalled() -> None:
    embed = fake_embed(VECTORS)
    recall = Recall(FakeSource(MEMORY), embed, min_similarity=0.9, unjudged_similarity=0.97)
    out = await recall.run(RecallInput(question=ASKED), ctx())
    assert isinstance(out, RecallOutput)
    assert [e.id for e in out.exemplars] == ["e1"]  # e2 names another firm; e3 is not close enough unjudged
    assert out.exemplars[0].passage is not None and not out.exemplars[0].judged
    assert out.demoted == ["c1"] and out.considered == 5
    assert all(OTHER_FIRM not in call for call in embed.calls)  # the names ruled it out before embedding


async def test_a_judge_decides_among_close_questions() -> None:
    verdicts: list[tuple[str, str]] = []

    async def judge(first: str, second: str, _: ToolContext) -> bool:
        verdicts.append((first, second))
        return first == PARAPHRASE

    recall = Recall(FakeSource(MEMORY), fake_embed(VECTORS), min_similarity=0.9, unjudged_similarity=0.97,
                    judge=lambda: judge)
    out = await recall.run(RecallInput(question=ASKED), ctx())
    assert isinstance(out, RecallOutput)
    assert [e.id for e in out.exemplars] == ["e1"] and out.exemplars[0].judged
    assert out.rejected == [OTHER_ATTRIBUTE] and out.demoted == ["c1"]
    assert {first for first, _ in verdicts} == {PARAPHRASE, OTHER_ATTRIBUTE}  # each close question judged once


async def test_embeddings_are_computed_once_per_question() -> None:
    embed = fake_embed(VECTORS)
    recall = Recall(FakeSource(MEMORY), embed, min_similarity=0.9, unjudged_similarity=0.97)
    await recall.run(RecallInput(question=ASKED), ctx())
    await recall.run(RecallInput(question=ASKED), ctx())
    assert len(embed.calls) == 1


async def test_no_collection_or_credential_recalls_nothing() -> None:
    source = FakeSource(MEMORY)
    recall = Recall(source, fake_embed(VECTORS), min_similarity=0.9, unjudged_similarity=0.97)
    out = await recall.run(RecallInput(question=ASKED), ToolContext(collection=None, credential=None,
                                                                   today=dt.date(2026, 1, 1)))
    assert isinstance(out, RecallOutput) and out.exemplars == [] and source.asked == 0


async def test_what_the_other_tools_get_from_a_recall() -> None:
    recall = Recall(FakeSource(MEMORY), fake_embed(VECTORS), min_similarity=0.9, unjudged_similarity=0.97)
    out = await recall.run(RecallInput(question=ASKED), ctx())
    assert isinstance(out, RecallOutput)
    held = remembered(out)
    assert [p.chunk_id for p in held.passages] == ["memory:e1", "c9"]
    assert f'"{PARAPHRASE}" is: Odile Brandvik' in held.passages[0].text
    assert held.shots == () and held.demoted == frozenset({"c1"})  # a name is no arithmetic shot
    numeric = out.model_copy(update={"exemplars": [out.exemplars[0].model_copy(update={"answer": "It is 4,210."})]})
    assert remembered(numeric).shots == ((PARAPHRASE, "4210"),)
    assert remembered(None).passages == ()


class FakeKnowledge:
    """A fake knowledge client: the search hits, best first, and the k each search asked for."""

    def __init__(self, hits: list[str]) -> None:
        self.hits, self.asked_k = hits, 0

    async def search(self, ctx: ToolContext, **params: Any) -> SearchResponse:  # noqa: ARG002
        self.asked_k = int(params["k"])
        return SearchResponse(query=str(params["q"]), collection="c", mode=SearchMode.hybrid, hits=[
            SearchHit(chunk_id=c, document_id="d", source="s", title=None, heading=None, page=None, start=0, end=1,
                      text=c, score=1.0, keyword_rank=None, vector_rank=None, graph_rank=None)
            for c in self.hits[:self.asked_k]])


async def test_a_search_puts_demoted_passages_after_every_other() -> None:
    from sutazai.reasoning.tools.base import Remembered
    from sutazai.reasoning.tools.knowledge import KnowledgeSearch, SearchInput, SearchOutput

    knowledge = FakeKnowledge(["c1", "c2", "c3", "c4", "c5"])
    search = KnowledgeSearch(knowledge)  # type: ignore[arg-type]
    plain = await search.run(SearchInput(query="q", k=2), ctx())
    assert isinstance(plain, SearchOutput) and [p.chunk_id for p in plain.passages] == ["c1", "c2"]
    demoting = ctx()
    demoting.memory = Remembered(demoted=frozenset({"c1"}))
    out = await search.run(SearchInput(query="q", k=2), demoting)
    assert isinstance(out, SearchOutput) and [p.chunk_id for p in out.passages] == ["c2", "c3"]
    assert knowledge.asked_k == 3
    knowledge.hits = ["c1"]  # nothing else found: the demoted passage is still offered
    alone = await search.run(SearchInput(query="q", k=2), demoting)
    assert isinstance(alone, SearchOutput) and [p.chunk_id for p in alone.passages] == ["c1"]


async def test_worked_solutions_of_similar_questions_are_demonstrations() -> None:
    near, far = "Tom buys 4 pens at 3 dollars each. What does he pay?", "What is the capital of Peru?"
    asked = "Ann buys 5 cups at 2 dollars each. How much does she spend?"
    memory = {"exemplars": [
        {"id": "t1", "question": near, "answer": "12", "origin": "teacher", "passage": None, "work": "4 * 3"},
        {"id": "t2", "question": far, "answer": "Lima", "origin": "teacher", "passage": None, "work": None},
        {"id": "t3", "question": "Sue has 9 apples and eats 2. How many are left?", "answer": "7",
         "origin": "teacher", "passage": None, "work": "9 - 2"}], "demotions": []}
    vectors = {asked: [1.0, 0.0], near: [0.95, 0.31], far: [0.0, 1.0],
               "Sue has 9 apples and eats 2. How many are left?": [0.7, 0.71]}
    recall = Recall(FakeSource(memory), fake_embed(vectors), min_similarity=0.9, unjudged_similarity=0.97,
                    demonstrations=3, demonstration_similarity=0.8)
    out = await recall.run(RecallInput(question=asked), ctx())
    assert isinstance(out, RecallOutput) and out.exemplars == []  # not the same question: no approved answer
    assert [(d.id, d.work) for d in out.demonstrations] == [("t1", "4 * 3")]  # t3 is not close enough
    assert remembered(out).shots == ((near, "4 * 3"),) and remembered(out).passages == ()


def test_the_work_of_a_trace_is_the_arithmetic_that_gave_its_answer() -> None:
    from sutazai.learning.traces import work_in

    trace = {"plan": {"steps": [{"id": "s1", "depends_on": []}, {"id": "s2", "depends_on": ["s1"]},
                                {"id": "s3", "depends_on": []}, {"id": "s4", "depends_on": ["s3"]}]},
             "steps": [{"step_id": "s1", "tool": "formulate", "output": {"expression": "4 * 2"}},
                       {"step_id": "s2", "tool": "calculator", "output": {"result": "8", "value": "8"}},
                       {"step_id": "s3", "tool": "formulate", "output": {"expression": "4 * 3"}},
                       {"step_id": "s4", "tool": "calculator", "output": {"result": "12", "value": "12.0"}}]}
    assert work_in(trace, "12. Computed exactly: 4 * 3 = 12.") == "4 * 3"
    assert work_in(trace, "It is 99.") is None and work_in(trace, "no number") is None
    assert work_in({"steps": None}, "12") is None
