"""SQL of model routes (which model serves each kind of step) and the other settings an admin sets
at run time (retrieval)."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from sutazai.reasoning.store import Conn


async def list_routes(*, conn: Conn) -> dict[str, str]:
    rows = await (await conn.execute("SELECT kind, model FROM reasoning.routes")).fetchall()
    return {r["kind"]: r["model"] for r in rows}


async def save_routes(*, conn: Conn, routes: dict[str, str], actor: str) -> None:
    for kind, model in routes.items():
        await conn.execute(
            """INSERT INTO reasoning.routes (kind, model, updated_by) VALUES (%s, %s, %s)
               ON CONFLICT (kind) DO UPDATE SET model = EXCLUDED.model, updated_by = EXCLUDED.updated_by,
                   updated_at = now()""",
            (kind, model, actor),
        )


async def get_setting(*, conn: Conn, name: str) -> Any | None:
    row = await (await conn.execute("SELECT value FROM reasoning.settings WHERE name = %s", (name,))).fetchone()
    return None if row is None else row["value"]


async def save_setting(*, conn: Conn, name: str, value: Any, actor: str) -> None:
    await conn.execute(
        """INSERT INTO reasoning.settings (name, value, updated_by) VALUES (%s, %s, %s)
           ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by,
               updated_at = now()""",
        (name, Jsonb(value), actor),
    )
