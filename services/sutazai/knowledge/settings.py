"""Knowledge service settings."""

from enum import StrEnum
from functools import lru_cache

from pydantic import SecretStr

from sutazai.lib.settings import CommonSettings


class GraphBackend(StrEnum):
    falkordb = "falkordb"
    neo4j = "neo4j"


class KnowledgeSettings(CommonSettings):
    service_name: str = "knowledge"
    graph_backend: GraphBackend = GraphBackend.falkordb
    neo4j_url: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")


@lru_cache
def get_settings() -> KnowledgeSettings:
    return KnowledgeSettings()
