"""The default graph extractor (`ner+model`) end to end on the real backends and SmolLM2: the NER
pass decides the entities and their types, every fact joins two of them, and a chunk naming
fewer than two entities never reaches the model."""

from __future__ import annotations

import asyncio
import uuid

from sutazai.knowledge import wiring
from sutazai.knowledge.graph.extraction import GraphBuilder
from sutazai.knowledge.ingest import Ingestor
from sutazai.knowledge.settings import KnowledgeSettings
from sutazai.knowledge.store import entities
from tests.integration.conftest import Backends
from tests.integration.knowledge_helpers import index_stage

TEXT = ("Ada Lovelace worked with Charles Babbage in London. Charles Babbage designed the Analytical Engine."
        "\n\nThe machine was never finished, and its plans stayed on paper for a very long time, read by "
        "engineers who kept wondering whether such a machine could ever have worked at all.")


def test_ner_finds_the_entities_and_the_model_only_relates_them(backends: Backends) -> None:
    private = backends.redis.url().rsplit("/", 1)[0] + "/3"
    settings = KnowledgeSettings(**backends.settings(redis_url=private), inprocess_worker=False,
                                 chunk_max_chars=200, graph_extractor="ner+model")
    col = f"ner-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        async with wiring.started(settings) as kc:
            db = kc.resources.db
            builder = GraphBuilder(db=db, store=kc.graph, model=kc.model, extractor="ner+model")
            ingestor = Ingestor(db=db, index=kc.index, embedder=kc.model, bus=kc.resources.bus, graph=builder,
                                max_bytes=1_000_000, chunk_chars=200)
            doc_id, graph_job = await index_stage(ingestor, db, collection=col, source="history.txt", text=TEXT)
            await ingestor.process(graph_job, final_attempt=True)

            async with db.connection() as conn:
                rows = await (await conn.execute(
                    "SELECT name, type FROM knowledge.entities WHERE collection = %s", (col,))).fetchall()
                chunk_count = (await (await conn.execute(
                    "SELECT chunk_count FROM knowledge.documents WHERE id = %s", (doc_id,))).fetchone())["chunk_count"]
            types = {r["name"]: r["type"] for r in rows}
            assert types.get("Ada Lovelace") == "person" and types.get("Charles Babbage") == "person"
            assert types.get("London") == "place"
            # the last chunk names nothing: the model was asked about fewer chunks than there are
            assert chunk_count >= 2 and builder.model_calls < chunk_count
            async with db.connection() as conn:
                known = await entities.entity_ids(conn=conn, collection=col)
            ids = {e.id: e.name for e in await kc.graph.get_entities(col, known)}
            facts = [f for entity_id in ids for f in await kc.graph.facts_of(col, entity_id, as_of=None)]
            assert all(f.source_id in ids and f.target_id in ids for f in facts)
            assert all(f.model.startswith("SmolLM2") and f.document_id == doc_id for f in facts)

    asyncio.run(scenario())

