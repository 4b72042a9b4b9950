"""Migrations are idempotent and safe when several replicas (processes) start at once."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import psycopg
import pytest
from alembic.script import ScriptDirectory

from sutazai.lib import migrations
from sutazai.reasoning.store import MIGRATIONS
from tests.integration.conftest import Backends


def run_upgrade(dsn: str, schema: str) -> None:
    migrations.upgrade(dsn=dsn, schema=schema, script_location=MIGRATIONS)


@pytest.mark.parametrize("pool_kind", ["processes", "threads"])
def test_concurrent_and_repeated_upgrades_converge(backends: Backends, pool_kind: str) -> None:
    dsn, schema = backends.postgres.dsn(), f"mig_{pool_kind}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    pool = (ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn"))
            if pool_kind == "processes" else ThreadPoolExecutor(3))
    with pool:
        for future in [pool.submit(run_upgrade, dsn, schema) for _ in range(3)]:
            future.result()
    run_upgrade(dsn, schema)
    with psycopg.connect(dsn) as conn:
        version = conn.execute(f"SELECT version_num FROM {schema}.alembic_version").fetchall()  # noqa: S608
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)).fetchone()
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None and version == [(head,)]
    assert tables == (6,)  # traces, trace_steps, routes, settings, mcp_servers, alembic_version
