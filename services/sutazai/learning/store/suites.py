"""SQL of evaluation suites and their cases."""

from __future__ import annotations

import uuid
from typing import Any

from sutazai.learning.store import Conn


async def lock_suite_name(*, conn: Conn, name: str) -> None:
    """Serialise imports under one name until the transaction ends (versions stay consecutive)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('learning.eval_suites:' || %s))", (name,))


async def latest_suite(*, conn: Conn, name: str) -> dict[str, Any] | None:
    cur = await conn.execute("SELECT * FROM learning.eval_suites WHERE name = %s ORDER BY version DESC LIMIT 1",
                             (name,))
    return await cur.fetchone()


async def get_suite(*, conn: Conn, name: str, version: int | None) -> dict[str, Any] | None:
    if version is None:
        return await latest_suite(conn=conn, name=name)
    cur = await conn.execute("SELECT * FROM learning.eval_suites WHERE name = %s AND version = %s", (name, version))
    return await cur.fetchone()


async def insert_suite(*, conn: Conn, suite_id: uuid.UUID, name: str, version: int, description: str, source: str,
                       digest: str, cases: int, created_by: str) -> dict[str, Any]:
    cur = await conn.execute(
        """INSERT INTO learning.eval_suites (suite_id, name, version, description, source, digest, cases, created_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING *""",
        (suite_id, name, version, description, source, digest, cases, created_by))
    row = await cur.fetchone()
    assert row is not None  # noqa: S101 - INSERT ... RETURNING yields the row
    return row


async def insert_cases(*, conn: Conn, suite_id: uuid.UUID, cases: list[dict[str, Any]]) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            """INSERT INTO learning.eval_cases
                 (suite_id, position, case_id, question, answers, numeric, tolerance, collection, tags)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [(suite_id, n, c["case_id"], c["question"], c["answers"], c["numeric"], c["tolerance"], c["collection"],
              c["tags"]) for n, c in enumerate(cases)])


async def list_suites(*, conn: Conn) -> list[dict[str, Any]]:
    """The newest version of every suite, with how many versions it has."""
    cur = await conn.execute(
        """SELECT DISTINCT ON (name) *, count(*) OVER (PARTITION BY name) AS versions
           FROM learning.eval_suites ORDER BY name, version DESC""")
    return await cur.fetchall()


async def suite_cases(*, conn: Conn, suite_id: uuid.UUID) -> list[dict[str, Any]]:
    cur = await conn.execute("SELECT * FROM learning.eval_cases WHERE suite_id = %s ORDER BY position", (suite_id,))
    return await cur.fetchall()
