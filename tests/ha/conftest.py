"""The HA tier's servers, started once per module and stopped after it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.ha.cluster import Etcd, Haproxy, PatroniNode, cleanup, workspace


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
