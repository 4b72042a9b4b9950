"""Recall: what procedural memory (the learning service's exemplars and demoted passages) holds
for the question being asked.

An exemplar is used for a question when the two questions ask for the same thing. Three tests,
cheapest first: they name the same things (the same numbers and the same names: capitalised
words that are not common words — embeddings alone put "How many people does the company that
acquired A employ?" next to the same question about B); their embeddings are close (cosine at
least `min_similarity`); and, when a judge is configured (a model suited to verifying), the
model agrees that a right answer to one is a right answer to the other. Without a judge the
embeddings must be much closer (`unjudged_similarity`): the small embedder puts different
questions about the same company at 0.94-0.98, paraphrases at 0.93-0.99, so the judge matters
(docs/benchmarks.md measures it). The same tests pick the demotions: passages marked wrong for
the same question are demoted in this one's searches.

Memory is read with the asking person's credential (so only from collections they may use) for
every question (an approval counts from the next question on), and each remembered question's
embedding is computed once."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, Field

from sutazai.lib.clients.learning import LearningClient
from sutazai.lib.errors import SutazaiError
from sutazai.lib.models import ChatMessage, ModelBackend
from sutazai.reasoning.tools.base import Remembered, ToolContext, ToolFailed, expect
from sutazai.reasoning.tools.knowledge import Passage
from sutazai.reasoning.tools.modeltools import chat_json, numbers_in

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_COMMON = frozenset(
    "a an the of to in on at by for with from and or but is are was were be been it its this that these those there "
    "their they he she his her we you i as into than then so which who whom what when where why how do does did has "
    "have had not no yes can could will would should may might if each every all any some many much more most less "
    "fewer after before during over under between about again also just only very please tell give list name "
    "show find compare calculate compute explain describe".split())

Embed = Callable[[Sequence[str]], Awaitable[list[list[float]]]]
Judge = Callable[[str, str, ToolContext], Awaitable[bool]]

JUDGE_SYSTEM = ("Decide whether two questions ask for exactly the same information, so that a correct answer to the "
                "first is a correct answer to the second. Questions about different quantities, attributes, events "
                "or entities are not the same, even when they mention the same names.")
JUDGE_SHOTS = (
    ("How tall is the Eiffel Tower?", "What is the height of the Eiffel Tower?", True),
    ("How tall is the Eiffel Tower?", "When was the Eiffel Tower built?", False),
    ("Who founded Acme Corp?", "Acme Corp was founded by whom?", True),
    ("How many staff does Acme Corp have?", "How many offices does Acme Corp have?", False),
    ("What did Lena pay for 3 apples at $2 each?", "Lena buys 3 apples costing $2 each. How much does she spend?",
     True),
    ("Which river flows through Vienna?", "Which country is Vienna in?", False),
)


def model_judge(route: Callable[[str], ModelBackend]) -> Judge:
    """A judge that asks the model routed for "verify" whether two questions ask the same."""

    async def same(first: str, second: str, ctx: ToolContext) -> bool:
        messages = [ChatMessage("system", JUDGE_SYSTEM)]
        for a, b, verdict in JUDGE_SHOTS:
            messages += [ChatMessage("user", f"First question: {a}\nSecond question: {b}"),
                         ChatMessage("assistant", json.dumps({"same": verdict}))]
        messages.append(ChatMessage("user", f"First question: {first}\nSecond question: {second}"))
        schema = {"type": "object", "required": ["same"], "properties": {"same": {"type": "boolean"}}}
        out = await chat_json(route("verify"), ctx, messages, schema, temperature=0.0, seed=0, max_tokens=12)
        return out.get("same") is True

    return same


def anchors(text: str) -> frozenset[str]:
    """The numbers and names a question is about: numbers (thousands separators dropped) and
    capitalised words that are not common words, lower-cased, possessives dropped. Acronyms
    (all capitals) are left out: a paraphrase may spell them out."""
    names = {w.lower().removesuffix("'s").removesuffix("'") for w in _WORD.findall(text)
             if w[0].isupper() and not w.isupper() and w.lower().removesuffix("'s") not in _COMMON}
    return frozenset(names | set(numbers_in(text)))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class MemorySource(Protocol):
    async def memory(self, collection: str, credential: str) -> dict[str, Any]: ...


class LearningMemory:
    """MemorySource over the learning service's typed client, as the asking person; `cache_seconds`
    (none by default) keeps a collection's memory that long (the caller's right to use the
    collection is checked before recall)."""

    def __init__(self, client: LearningClient, *, cache_seconds: float = 0.0) -> None:
        self._client, self._cache_seconds = client, cache_seconds
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    async def memory(self, collection: str, credential: str) -> dict[str, Any]:
        cached = self._cache.get(collection)
        if cached and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        try:
            held = await self._client.memory(collection, credential=credential)
        except SutazaiError as exc:
            raise ToolFailed(f"learning service, the memory of {collection!r}: {exc.detail}") from exc
        body = held.model_dump(mode="json")
        self._cache[collection] = (time.monotonic(), body)
        return body


class RecallInput(BaseModel):
    question: str = Field(min_length=1, max_length=100_000)


class Recalled(BaseModel):
    id: str
    question: str
    answer: str
    origin: str
    similarity: float
    judged: bool = Field(default=False, description="a model judged the questions to ask the same")
    work: str | None = Field(default=None, description="the worked arithmetic a teacher wrote for it")
    passage: Passage | None = Field(default=None, description="the passage the approved answer named")


class RecallOutput(BaseModel):
    exemplars: list[Recalled] = Field(description="approved answers to close questions, closest first")
    demoted: list[str] = Field(description="chunk ids marked wrong for close questions")
    considered: int = Field(description="exemplars and demotions the collection holds")
    rejected: list[str] = Field(default_factory=list, description="close questions the judge found to ask "
                                                                  "something else")
    demonstrations: list[Recalled] = Field(default_factory=list, description=(
        "worked solutions of similar (not the same) questions, shown to the model as examples"))


class Recall:
    name: ClassVar[str] = "recall"
    kind: ClassVar[str] = "retrieve"
    description: ClassVar[str] = "approved answers to close questions and passages marked wrong for them"
    input_model: ClassVar[type[BaseModel]] = RecallInput
    output_model: ClassVar[type[BaseModel]] = RecallOutput

    def __init__(self, source: MemorySource, embed: Embed, *, min_similarity: float, unjudged_similarity: float,
                 judge: Callable[[], Judge | None] = lambda: None, limit: int = 3, demonstrations: int = 3,
                 demonstration_similarity: float = 0.8) -> None:
        self._source, self._embed, self._judge = source, embed, judge
        self._min_similarity, self._unjudged, self._limit = min_similarity, unjudged_similarity, limit
        self._demonstrations, self._demonstration_similarity = demonstrations, demonstration_similarity
        self._vectors: dict[str, list[float]] = {}

    async def _vectors_of(self, texts: list[str]) -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            if len(self._vectors) > 50_000:
                self._vectors.clear()
            try:
                vectors = await self._embed(missing)
            except SutazaiError as exc:  # the embedder is down: this question goes on without memory
                raise ToolFailed(f"the embedder is unavailable, memory was not consulted: {exc.detail}") from exc
            self._vectors.update(zip(missing, vectors, strict=True))
        return [self._vectors[t] for t in texts]

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:
        data = expect(data, RecallInput)
        if ctx.collection is None or ctx.credential is None:
            return RecallOutput(exemplars=[], demoted=[], considered=0)
        held = await self._source.memory(ctx.collection, ctx.credential)
        exemplars, demotions = held.get("exemplars") or [], held.get("demotions") or []
        considered = len(exemplars) + len(demotions)
        mine = anchors(data.question)
        close = [e for e in exemplars if anchors(e["question"]) == mine]
        wrong = [d for d in demotions if anchors(d["question"]) == mine]
        demonstrations = await self._demonstrate(data.question, [e for e in exemplars if e.get("work")])
        if not close and not wrong:
            return RecallOutput(exemplars=[], demoted=[], considered=considered, demonstrations=demonstrations)
        vectors = await self._vectors_of([data.question, *(e["question"] for e in close),
                                          *(d["question"] for d in wrong)])
        asked, rest = vectors[0], vectors[1:]
        judge = self._judge()
        floor = self._min_similarity if judge is not None else max(self._min_similarity, self._unjudged)
        near = sorted(((cosine(asked, v), e) for v, e in zip(rest[:len(close)], close, strict=True)),
                      key=lambda x: -x[0])
        near = [(s, e) for s, e in near if s >= floor][:self._limit]
        wrong_near = [(cosine(asked, v), d) for v, d in zip(rest[len(close):], wrong, strict=True)]
        wrong_near = [(s, d) for s, d in wrong_near if s >= floor]
        verdicts: dict[str, bool] = {}
        if judge is not None:
            for other in dict.fromkeys([e["question"] for _, e in near] + [d["question"] for _, d in wrong_near]):
                verdicts[other] = await judge(other, data.question, ctx)

        def keep(question: str) -> bool:
            return judge is None or verdicts.get(question, False)

        return RecallOutput(exemplars=[
            Recalled(id=str(e["id"]), question=e["question"], answer=e["answer"], origin=e["origin"],
                     similarity=round(s, 4), judged=judge is not None, passage=_passage(e.get("passage")))
            for s, e in near if keep(e["question"])],
            demoted=sorted({d["chunk_id"] for _, d in wrong_near if keep(d["question"])}),
            considered=considered, rejected=[q for q, same in verdicts.items() if not same],
            demonstrations=[d for d in demonstrations if not any(d.id == str(e["id"]) for _, e in near)])

    async def _demonstrate(self, question: str, worked: list[dict[str, Any]]) -> list[Recalled]:
        """The nearest exemplars with worked solutions (any question), closest first."""
        if not worked or self._demonstrations == 0:
            return []
        vectors = await self._vectors_of([question, *(e["question"] for e in worked)])
        scored = sorted(((cosine(vectors[0], v), e) for v, e in zip(vectors[1:], worked, strict=True)),
                        key=lambda x: -x[0])
        return [Recalled(id=str(e["id"]), question=e["question"], answer=e["answer"], origin=e["origin"],
                         similarity=round(s, 4), work=e["work"])
                for s, e in scored[:self._demonstrations] if s >= self._demonstration_similarity and
                e["question"] != question]


def _passage(raw: dict[str, Any] | None) -> Passage | None:
    if not raw or not raw.get("text"):
        return None
    return Passage(chunk_id=str(raw["chunk_id"]), document_id=str(raw.get("document_id") or ""),
                   source=str(raw.get("source") or ""), text=str(raw["text"]), score=1.0)


ORIGINS = {"correction": "an approved correction", "rating": "a well-rated answer", "teacher": "a teacher's answer"}


def remembered(out: RecallOutput | None) -> Remembered:
    """What the other tools of this request use from a recall: one source passage per exemplar
    (the approved answer to the close question, as one sentence), the passage it named, shots for
    the arithmetic writer (teachers' worked solutions of similar questions, and the number of an
    approved answer to the same question), and the demoted chunk ids."""
    if out is None:
        return Remembered()
    passages: list[Passage] = []
    shots: list[tuple[str, str]] = []
    for e in out.exemplars:
        passages.append(Passage(
            chunk_id=f"memory:{e.id}", document_id="memory", source=ORIGINS.get(e.origin, e.origin),
            text=f'The approved answer to the question "{e.question}" is: {e.answer}', score=e.similarity))
        if e.passage is not None:
            passages.append(e.passage)
        number = numbers_in(e.answer)
        if len(number) == 1:
            shots.append((e.question, number[0]))
    worked = [(d.question, d.work) for d in out.demonstrations if d.work]
    # closest last (nearest the question): demonstrations, then approved answers to the same question
    return Remembered(passages=tuple(passages), shots=tuple([*reversed(worked), *reversed(shots)]),
                      demoted=frozenset(out.demoted))
