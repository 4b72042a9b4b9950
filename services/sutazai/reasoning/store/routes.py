"""SQL of model routes: which model serves each kind of step, as an admin set it."""

from __future__ import annotations

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
