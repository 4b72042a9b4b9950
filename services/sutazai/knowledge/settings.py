"""Knowledge service settings."""

import tempfile
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr

from sutazai.lib.settings import ModelSettings


class GraphBackend(StrEnum):
    falkordb = "falkordb"
    neo4j = "neo4j"


class SearchBackend(StrEnum):
    postgres = "postgres"
    elasticsearch = "elasticsearch"


class GraphExtractor(StrEnum):
    """How chunks become facts: a named-entity pass (spaCy, English) finds the entities and the
    model only names the relations between them (fast; chunks naming fewer than two entities
    skip the model), or the model reads everything itself (any language, several times slower)."""

    ner_model = "ner+model"
    model = "model"


class KnowledgeSettings(ModelSettings):
    service_name: str = "knowledge"
    max_document_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    parse_timeout_seconds: float = Field(default=60.0, gt=0, le=3600, description="a document whose parsing "
                                         "takes longer is refused as unreadable (parsing runs in its own process)")
    ocr_page_seconds: float = Field(default=60.0, gt=0, le=3600, description=(
        "time added to the parse limit for each page read by OCR (a scanned PDF page or an image)"))
    parse_memory_mb: int = Field(default=2048, ge=256, description="memory the parsing process may use")
    chunk_max_chars: int = Field(default=1200, ge=200, le=20_000)
    embed_batch: int = Field(default=32, ge=1, le=512)
    text_search_config: str = "english"
    search_backend: SearchBackend = SearchBackend.postgres
    elasticsearch_url: str = "http://127.0.0.1:9200"
    elasticsearch_username: str = "elastic"
    elastic_password: SecretStr = SecretStr("")
    elasticsearch_index: str = "sutazai-chunks"
    graph_backend: GraphBackend = GraphBackend.falkordb
    graph_extraction: bool = True
    graph_extractor: GraphExtractor = GraphExtractor.ner_model
    graph_url: str | None = Field(default=None, description="FalkorDB (redis://) URL; default: the Redis URL")
    neo4j_url: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    inprocess_worker: bool = Field(default=True, description="run the ingestion worker inside the "
                                   "service (embedded stack); Compose runs a separate worker")
    worker_claim_idle_ms: int = Field(default=30_000, ge=100)
    worker_max_attempts: int = Field(default=3, ge=1, le=20)
    requeue_after_seconds: float = Field(default=120, gt=0)
    stalled_after_seconds: float = Field(default=600, gt=0, description="readiness turns red when an "
                                         "ingestion job has not moved for this long")
    connector_roots: str = Field(default="", description="folders (comma-separated) that folder and Git "
                                 "connectors may read, and everything under them; none by default")
    connector_hosts: str = Field(default="", description="hosts (comma-separated) that Git, IMAP and web "
                                 "connectors may reach; none by default")
    connector_cache_dir: Path = Field(default=Path(tempfile.gettempdir()) / "sutazai-connectors",
                                      description="where Git connectors keep their mirrors (a cache: losing it "
                                                  "costs one full fetch)")
    connector_poll_seconds: float = Field(default=5.0, gt=0, le=3600, description="how often the worker looks "
                                          "for connectors whose sync is due")
    connector_lease_seconds: float = Field(default=300.0, ge=10, le=86_400, description="a sync whose worker "
                                           "stops answering for this long is taken up by another")

    @property
    def connector_root_list(self) -> list[str]:
        return [r.strip() for r in self.connector_roots.split(",") if r.strip()]

    @property
    def connector_host_list(self) -> list[str]:
        return [h.strip() for h in self.connector_hosts.split(",") if h.strip()]


@lru_cache
def get_settings() -> KnowledgeSettings:
    return KnowledgeSettings()
