"""Each backend's errors become the most specific domain error at its boundary: outages 503,
timeouts 504, a caller's bad value 422, duplicates 409; defects pass through unchanged. The
third-party exceptions here are the real classes of the drivers, built as the drivers build them."""

from __future__ import annotations

import elastic_transport as et
import elasticsearch as es
import httpx
import ollama
import psycopg
import pytest
from neo4j import exceptions as nx
from psycopg import errors as pg
from psycopg_pool import PoolTimeout
from redis import exceptions as rx
from redis.asyncio.sentinel import MasterNotFoundError

from sutazai.knowledge.graph.falkordb_store import FALKORDB_ERRORS
from sutazai.knowledge.graph.falkordb_store import QUERY_REFUSALS as FALKORDB_QUERIES
from sutazai.knowledge.graph.neo4j_store import NEO4J_ERRORS
from sutazai.knowledge.graph.neo4j_store import QUERY_REFUSALS as NEO4J_QUERIES
from sutazai.knowledge.search.elastic import ELASTICSEARCH_ERRORS
from sutazai.lib.db import POSTGRES_ERRORS
from sutazai.lib.errors import (
    Conflict,
    DependencyTimeout,
    DependencyUnavailable,
    ErrorCode,
    ErrorMapping,
    ModelUnavailable,
    NotFound,
    SutazaiError,
    ValidationFailed,
    translate,
    translated,
)
from sutazai.lib.models.llamacpp_backend import LLAMACPP_ERRORS
from sutazai.lib.models.ollama_backend import ollama_errors
from sutazai.lib.redis_client import REDIS_ERRORS


def neo4j(code: str, message: str = "refused") -> Exception:
    return nx.Neo4jError._hydrate_neo4j(code=code, message=message)  # noqa: SLF001 - how the driver builds them


def es_api(kind: type[es.ApiError], status: int) -> es.ApiError:
    meta = et.ApiResponseMeta(status=status, http_version="1.1", headers=et.HttpHeaders(), duration=0.01,
                              node=et.NodeConfig("http", "127.0.0.1", 9200))
    return kind(message="refused", meta=meta, body={})


CASES: list[tuple[str, ErrorMapping, Exception, type[SutazaiError], int]] = [
    ("postgres timeout", POSTGRES_ERRORS, pg.QueryCanceled("canceling statement due to statement timeout"),
     DependencyTimeout, 504),
    ("postgres pool", POSTGRES_ERRORS, PoolTimeout("couldn't get a connection after 10 sec"),
     DependencyUnavailable, 503),
    ("postgres down", POSTGRES_ERRORS, psycopg.OperationalError("connection refused"), DependencyUnavailable, 503),
    ("postgres failing over", POSTGRES_ERRORS,
     pg.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), DependencyUnavailable, 503),
    ("postgres disk full", POSTGRES_ERRORS,
     pg.DiskFull('could not extend file "base/16384/2619": No space left on device'), DependencyUnavailable, 503),
    ("postgres duplicate", POSTGRES_ERRORS, pg.UniqueViolation("duplicate key"), Conflict, 409),
    ("postgres NUL byte", POSTGRES_ERRORS, psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
     ValidationFailed, 422),
    ("postgres out of range", POSTGRES_ERRORS, pg.NumericValueOutOfRange("integer out of range"),
     ValidationFailed, 422),
    ("redis timeout", REDIS_ERRORS, rx.TimeoutError("Timeout reading from socket"), DependencyTimeout, 504),
    ("redis down", REDIS_ERRORS, rx.ConnectionError("Error 111 connecting"), DependencyUnavailable, 503),
    ("redis replica", REDIS_ERRORS, rx.ReadOnlyError("You can't write against a read only replica."),
     DependencyUnavailable, 503),
    ("redis out of memory", REDIS_ERRORS, rx.OutOfMemoryError("OOM command not allowed when used memory > "
                                                                 "'maxmemory'."), DependencyUnavailable, 503),
    ("no master", REDIS_ERRORS, MasterNotFoundError("No master found for 'sutazai'"), DependencyUnavailable, 503),
    ("falkordb timeout", FALKORDB_ERRORS, rx.ResponseError("Query timed out"), DependencyTimeout, 504),
    ("falkordb down", FALKORDB_ERRORS, rx.ConnectionError("Connection closed by server."), DependencyUnavailable, 503),
    ("falkordb bad cypher", FALKORDB_QUERIES, rx.ResponseError("errMsg: Invalid input"), ValidationFailed, 422),
    ("neo4j down", NEO4J_ERRORS, nx.ServiceUnavailable("Unable to retrieve routing information"),
     DependencyUnavailable, 503),
    ("neo4j session", NEO4J_ERRORS, nx.SessionExpired("leader switched"), DependencyUnavailable, 503),
    ("neo4j auth", NEO4J_ERRORS, neo4j("Neo.ClientError.Security.Unauthorized"), DependencyUnavailable, 503),
    ("neo4j timeout", NEO4J_ERRORS, neo4j("Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration"),
     DependencyTimeout, 504),
    ("neo4j busy", NEO4J_ERRORS, neo4j("Neo.TransientError.General.DatabaseUnavailable"), DependencyUnavailable, 503),
    ("neo4j bad cypher", NEO4J_QUERIES, neo4j("Neo.ClientError.Statement.SyntaxError"), ValidationFailed, 422),
    ("es timeout", ELASTICSEARCH_ERRORS, es.ConnectionTimeout("timed out"), DependencyTimeout, 504),
    ("es down", ELASTICSEARCH_ERRORS, es.ConnectionError("refused"), DependencyUnavailable, 503),
    ("es overloaded", ELASTICSEARCH_ERRORS, es_api(es.ApiError, 429), DependencyUnavailable, 503),
    ("es failing", ELASTICSEARCH_ERRORS, es_api(es.ApiError, 503), DependencyUnavailable, 503),
    ("es credentials", ELASTICSEARCH_ERRORS, es_api(es.AuthenticationException, 401), DependencyUnavailable, 503),
    ("es bad query", ELASTICSEARCH_ERRORS, es_api(es.BadRequestError, 400), ValidationFailed, 422),
    ("llama.cpp context", LLAMACPP_ERRORS, ValueError("Requested tokens (4100) exceed context window of 2048"),
     ValidationFailed, 422),
    ("llama.cpp decode", LLAMACPP_ERRORS, RuntimeError("llama_decode returned -1"), ModelUnavailable, 503),
    ("ollama model missing", ollama_errors("http://o"), ollama.ResponseError("model 'x' not found", 404),
     ModelUnavailable, 503),
    ("ollama overloaded", ollama_errors("http://o"), ollama.ResponseError("busy", 503), ModelUnavailable, 503),
    ("ollama bad request", ollama_errors("http://o"), ollama.ResponseError("invalid format", 400),
     ValidationFailed, 422),
    ("ollama timeout", ollama_errors("http://o"), httpx.ReadTimeout("timed out"), ModelUnavailable, 503),
    ("ollama down", ollama_errors("http://o"), httpx.ConnectError("refused"), ModelUnavailable, 503),
]


@pytest.mark.parametrize(("name", "mapping", "error", "expected", "status"), CASES, ids=[c[0] for c in CASES])
def test_backend_errors_become_the_most_specific_domain_error(
        name: str, mapping: ErrorMapping, error: Exception, expected: type[SutazaiError], status: int) -> None:
    with pytest.raises(expected) as raised, translated(mapping):
        raise error
    assert type(raised.value) is expected, name
    assert raised.value.status == status and raised.value.__cause__ is error
    assert raised.value.detail  # a sentence a person can act on, never empty


@pytest.mark.parametrize(("mapping", "error"), [
    (FALKORDB_ERRORS, rx.ResponseError("Unknown function 'elementId'")),  # a defect in our own query
    (NEO4J_ERRORS, neo4j("Neo.ClientError.Statement.SyntaxError")),
    (LLAMACPP_ERRORS, ValueError("some other value error")),
    (ELASTICSEARCH_ERRORS, es_api(es.NotFoundError, 404)),
    (POSTGRES_ERRORS, KeyError("column")),
])
def test_defects_and_unmapped_errors_pass_through_unchanged(mapping: ErrorMapping, error: Exception) -> None:
    assert translate(error, mapping) is None
    with pytest.raises(type(error)) as raised, translated(mapping):
        raise error
    assert raised.value is error


def test_domain_errors_pass_through_any_mapping() -> None:
    original = NotFound("no document 7")
    with pytest.raises(NotFound) as raised, translated(POSTGRES_ERRORS):
        raise original
    assert raised.value is original


def test_each_error_code_carries_its_status_and_title_together() -> None:
    assert (ErrorCode.not_found.status, ErrorCode.not_found.phrase) == (404, "Not found")
    assert ErrorCode.dependency_timeout.status == 504 and ErrorCode("forbidden") is ErrorCode.forbidden
    assert all(code.status >= 400 and code.phrase for code in ErrorCode)
    assert DependencyTimeout("slow").status == 504 and NotFound("x").code is ErrorCode.not_found


def test_a_full_disk_or_memory_names_the_fix() -> None:
    with pytest.raises(DependencyUnavailable) as disk, translated(POSTGRES_ERRORS):
        raise pg.DiskFull('could not extend file "base/16384/2619": No space left on device')
    assert "disk is full" in disk.value.detail and "free space on its data volume" in disk.value.detail
    with pytest.raises(DependencyUnavailable) as memory, translated(REDIS_ERRORS):
        raise rx.OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'.")
    assert "out of memory" in memory.value.detail and "maxmemory" in memory.value.detail
