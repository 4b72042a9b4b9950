"""Fakes at the platform's interface boundaries, for unit tests only: a model backend, an
embedder, a search index, a passage source, a graph store's read side, a trace store, a route
store and an event publisher. Each is small, in memory and deterministic; the real
implementations are covered by the contract and integration tiers."""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from sutazai.knowledge.graph.interface import Fact
from sutazai.knowledge.search.interface import Hit, IndexedChunk, SearchFilters
from sutazai.lib.models import ChatMessage, ChatResult, EmbeddingKind, StreamEnd
from sutazai.reasoning.steps import StepRecord

WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


class FakeEmbedder:
    """Bag-of-words vectors hashed into 64 dimensions: texts sharing words are close."""

    dimensions = 64

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], EmbeddingKind]] = []

    async def embed(self, texts: Sequence[str], *, kind: EmbeddingKind) -> list[list[float]]:
        self.calls.append((list(texts), kind))
        return [self.vector(t) for t in texts]

    def vector(self, text: str) -> list[float]:
        values = [0.0] * self.dimensions
        for word in words(text):
            values[int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.dimensions] += 1.0
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        return [v / norm for v in values]


class FakeModel(FakeEmbedder):
    """A model backend whose replies come from `reply(messages, json_schema)`; it records every
    call and counts 10 prompt and 5 completion tokens each."""

    def __init__(self, reply: Callable[[Sequence[ChatMessage], dict[str, Any] | None], Any],
                 name: str = "fake-model") -> None:
        super().__init__()
        self._reply, self.chat_model = reply, name
        self.chats: list[Sequence[ChatMessage]] = []

    async def chat(self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 256,
                   seed: int | None = None, json_schema: dict[str, Any] | None = None) -> ChatResult:
        del temperature, max_tokens, seed
        self.chats.append(messages)
        value = self._reply(messages, json_schema)
        text = value if isinstance(value, str) else json.dumps(value)
        return ChatResult(text=text, model=self.chat_model, prompt_tokens=10, completion_tokens=5,
                          finish_reason="stop")

    async def stream(self, messages: Sequence[ChatMessage], *, temperature: float = 0.0, max_tokens: int = 256,
                     seed: int | None = None,
                     json_schema: dict[str, Any] | None = None) -> AsyncIterator[str | StreamEnd]:
        whole = await self.chat(messages, temperature=temperature, max_tokens=max_tokens, seed=seed,
                                json_schema=json_schema)
        for start in range(0, len(whole.text), 3):  # a few characters at a time, as a model writes
            yield whole.text[start:start + 3]
        yield StreamEnd(whole.finish_reason, whole.prompt_tokens, whole.completion_tokens)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class FakeSearchIndex:
    """Keyword: word overlap; vector: cosine of the stored embeddings. Filters by collection."""

    name = "fake"

    def __init__(self) -> None:
        self.chunks: dict[str, IndexedChunk] = {}
        self.upserts = 0

    async def ensure_ready(self) -> None:
        return None

    async def upsert(self, chunks: Sequence[IndexedChunk]) -> None:
        self.upserts += 1
        self.chunks.update({c.chunk_id: c for c in chunks})

    async def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        for chunk_id in chunk_ids:
            self.chunks.pop(chunk_id, None)

    async def delete_document(self, document_id: str) -> None:
        self.chunks = {k: c for k, c in self.chunks.items() if c.document_id != document_id}

    def _visible(self, filters: SearchFilters) -> list[IndexedChunk]:
        return [c for c in self.chunks.values() if c.collection in filters.collections
                and set(filters.tags) <= set(c.tags)]

    async def keyword(self, query: str, filters: SearchFilters, k: int) -> list[Hit]:
        wanted = words(query)
        scored = [(len(wanted & words(c.text)), c.chunk_id) for c in self._visible(filters)]
        return [Hit(cid, float(score)) for score, cid in sorted(scored, reverse=True) if score][:k]

    async def vector(self, embedding: Sequence[float], filters: SearchFilters, k: int) -> list[Hit]:
        scored = [(sum(a * b for a, b in zip(embedding, c.embedding, strict=True)), c.chunk_id)
                  for c in self._visible(filters)]
        return [Hit(cid, score) for score, cid in sorted(scored, reverse=True)][:k]

    async def count(self, filters: SearchFilters) -> int:
        return len(self._visible(filters))

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class FakePassages:
    """A PassageSource holding chunk rows (as the chunk store returns them) and entity names."""

    def __init__(self, rows: Sequence[dict[str, Any]] = (), entities: dict[str, str] | None = None) -> None:
        self.rows = {r["chunk_id"]: r for r in rows}
        self.entities = entities or {}  # normalised name -> entity id

    async def chunks(self, chunk_ids: Sequence[str]) -> list[dict[str, Any]]:
        return [self.rows[c] for c in chunk_ids if c in self.rows]

    async def entities_named_in(self, collections: Sequence[str], text: str, limit: int) -> list[dict[str, Any]]:
        found = [(name, eid) for name, eid in self.entities.items() if f" {name} " in f" {text} "]
        return [{"id": eid, "collection": collections[0]} for _, eid in found][:limit]


class FakeGraphFacts:
    """The read side of a GraphStore that retrieval uses: the facts about an entity."""

    def __init__(self, facts: dict[str, list[Fact]]) -> None:
        self.facts = facts

    async def facts_of(self, collection: str, entity_id: str, *, as_of: float | None) -> list[Fact]:
        del collection, as_of
        return self.facts.get(entity_id, [])


class FakeTraceStore:
    """TraceStore in memory."""

    def __init__(self) -> None:
        self.traces: dict[uuid.UUID, dict[str, Any]] = {}

    async def start(self, *, trace_id: uuid.UUID, subject: str, question: str, collection: str | None,
                    options: dict[str, Any], request_id: str | None, replay_of: uuid.UUID | None) -> None:
        self.traces[trace_id] = {"id": trace_id, "subject": subject, "question": question, "collection": collection,
                                 "options": options, "status": "running", "plan": None, "answer": None,
                                 "request_id": request_id, "replay_of": replay_of, "steps": []}

    async def set_plan(self, *, trace_id: uuid.UUID, plan: dict[str, Any]) -> None:
        self.traces[trace_id]["plan"] = plan

    async def add_step(self, *, trace_id: uuid.UUID, seq: int, step: StepRecord) -> None:
        self.traces[trace_id]["steps"].append({"seq": seq, "step_id": step.id, **step.to_event()})

    async def finish(self, *, trace_id: uuid.UUID, status: str, answer: str | None, error: str | None,
                     **outcome: Any) -> None:
        self.traces[trace_id].update(status=status, answer=answer, error=error, **outcome)

    async def get(self, *, trace_id: uuid.UUID) -> dict[str, Any] | None:
        return self.traces.get(trace_id)


class FakeRouteStore:
    def __init__(self, saved: dict[str, str] | None = None) -> None:
        self.saved = dict(saved or {})
        self.settings: dict[str, Any] = {}

    async def load(self) -> dict[str, str]:
        return dict(self.saved)

    async def save(self, *, routes: dict[str, str], actor: str) -> None:
        del actor
        self.saved.update(routes)

    async def load_setting(self, name: str) -> Any | None:
        return self.settings.get(name)

    async def save_setting(self, name: str, value: Any, *, actor: str) -> None:
        del actor
        self.settings[name] = value


class FakeEvents:
    """An event publisher that keeps what it is given."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str, dict[str, Any]]] = []

    async def publish(self, stream: str, event_type: str, data: dict[str, Any]) -> str:
        self.published.append((stream, event_type, data))
        return f"{len(self.published)}-0"
