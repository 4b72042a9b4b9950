"""FalkorDB (embedded default): one graph per collection (`sutazai_<collection>`), so a
collection's data is separated at the storage level; queries run with GRAPH.QUERY or, for
reads, GRAPH.RO_QUERY with a server-side timeout."""

from __future__ import annotations

from typing import Any

from falkordb.asyncio import FalkorDB
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import ResponseError

from sutazai.knowledge.graph.base import PortableGraphStore, Rows
from sutazai.knowledge.graph.readonly import check_plan
from sutazai.lib.errors import DependencyTimeout, ErrorMapping, SutazaiError, ValidationFailed, translated
from sutazai.lib.redis_client import REDIS_ERRORS, parse_sentinel_url, resilient_options


def _timed_out(exc: ResponseError) -> SutazaiError | None:
    return DependencyTimeout(f"FalkorDB stopped a query at its time limit: {exc}") if "timed out" in str(exc) else None


FALKORDB_ERRORS: ErrorMapping = ((ResponseError, _timed_out), *REDIS_ERRORS)
"""FalkorDB speaks the Redis protocol: its outages are Redis's; a query stopped at its timeout
is a 504. Other refusals of internal queries are defects and stay as they are."""
QUERY_REFUSALS: ErrorMapping = (*FALKORDB_ERRORS,
                                (ResponseError, lambda e: ValidationFailed(f"the query was refused: {e}")))
"""For a person's own read-only Cypher, a refusal is their query's fault: 422."""

INDEXES = (
    "CREATE INDEX FOR (e:Entity) ON (e.id)",
    "CREATE INDEX FOR (e:Entity) ON (e.collection)",
    "CREATE INDEX FOR ()-[r:REL]-() ON (r.id)",
    "CREATE INDEX FOR ()-[r:REL]-() ON (r.document_id)",
)


def graph_name(collection: str) -> str:
    return f"sutazai_{collection}"


def _value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class FalkorDBGraphStore(PortableGraphStore):
    name = "falkordb"

    def __init__(self, db: FalkorDB) -> None:
        self._db = db
        self._ready: set[str] = set()

    @classmethod
    def from_url(cls, url: str) -> FalkorDBGraphStore:
        """A store on `url`: redis:// (one server) or redis+sentinel:// (the Sentinels' current
        master, followed across a failover, as every other Redis client of the platform)."""
        if url.startswith("redis+sentinel://"):
            return cls(_through_sentinel(url))
        return cls(FalkorDB.from_url(url, socket_timeout=30))

    async def ensure_ready(self, collection: str) -> None:
        if collection in self._ready:
            return
        graph = self._db.select_graph(graph_name(collection))
        for statement in INDEXES:
            try:
                with translated(REDIS_ERRORS):
                    await graph.query(statement)
            except ResponseError as exc:
                if "already indexed" not in str(exc):
                    raise
        self._ready.add(collection)

    async def _run(self, collection: str, query: str, params: dict[str, Any], *, write: bool = False,
                   timeout_ms: int = 10_000) -> Rows:
        if write:
            await self.ensure_ready(collection)
        graph = self._db.select_graph(graph_name(collection))
        clean = {k: _value(v) for k, v in params.items()}
        try:
            with translated(FALKORDB_ERRORS):
                if write:
                    result = await graph.query(query, clean, timeout=timeout_ms)
                else:
                    result = await graph.ro_query(query, clean, timeout=timeout_ms)
        except ResponseError as exc:
            if "empty key" in str(exc):
                return []  # the collection has no graph yet
            raise
        header = [column[1] for column in result.header]
        return [dict(zip(header, row, strict=True)) for row in result.result_set]

    async def read_only(self, collection: str, query: str, params: dict[str, Any], *,
                        timeout_ms: int) -> tuple[list[str], list[list[Any]]]:
        graph = self._db.select_graph(graph_name(collection))
        try:
            with translated(QUERY_REFUSALS):
                planned = await graph.explain(query, params)
                check_plan(_plan_lines(planned.plan))
                result = await graph.ro_query(query, params, timeout=timeout_ms)
        except ValidationFailed as exc:
            if "empty key" in exc.detail:
                return [], []
            raise
        return [column[1] for column in result.header], [list(map(_plain, row)) for row in result.result_set]

    async def ping(self) -> None:
        with translated(FALKORDB_ERRORS):
            await self._db.list_graphs()

    async def close(self) -> None:
        await self._db.aclose()
        # from_url hands the client a pool it does not own, so aclose() leaves it open
        await self._db.connection.connection_pool.disconnect()


def _through_sentinel(url: str) -> FalkorDB:
    """A FalkorDB client whose connections go to the master the Sentinels name at each connect.
    FalkorDB's constructor probes the server it is given by host and port (to tell a cluster), which
    a Sentinel pool has not got until it connects; the client is assembled as the constructor
    would, on the Sentinel-managed pool (a replicated master is never a cluster)."""
    try:
        target = parse_sentinel_url(url)
    except ValueError as exc:
        raise ValidationFailed(f"the graph's Redis URL is not usable: {exc}") from None
    sentinel = Sentinel(target.sentinels, socket_timeout=3,  # type: ignore[no-untyped-call]
                        sentinel_kwargs={"password": target.password, "socket_timeout": 3})
    master = sentinel.master_for(target.master, db=target.db, password=target.password, decode_responses=True,
                                 socket_connect_timeout=3, socket_timeout=30, **resilient_options())
    db = FalkorDB.__new__(FalkorDB)
    db.connection = master
    db.flushdb = master.flushdb
    db.execute_command = master.execute_command
    return db


def _plan_lines(plan: Any) -> list[str]:
    """GRAPH.EXPLAIN's lines ('Results', '    Project', ...) as operator names."""
    return [(line.decode() if isinstance(line, bytes) else str(line)).strip() for line in plan]


def _plain(value: Any) -> Any:
    """Nodes and edges become their properties, so results serialise as JSON."""
    properties = getattr(value, "properties", None)
    if isinstance(properties, dict):
        return dict(properties)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
