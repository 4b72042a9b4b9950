"""SQL of resolved entities: one row per entity and collection, with its normalised name,
aliases and name embedding (used to merge spellings of the same thing)."""

from __future__ import annotations

from collections.abc import Sequence

from sutazai.knowledge.store import Conn, Row

_COLUMNS = "id::text, name, type, aliases"


def vector_literal(values: Sequence[float]) -> str:
    """pgvector's text form of an embedding."""
    return "[" + ",".join(f"{v:.6f}" for v in values) + "]"


async def get_entity(*, conn: Conn, collection: str, entity_id: str) -> Row | None:
    return await (await conn.execute(
        f"SELECT {_COLUMNS} FROM knowledge.entities WHERE id = %s AND collection = %s",  # noqa: S608
        (entity_id, collection))).fetchone()


async def find_entities(*, conn: Conn, collection: str, norm: str, limit: int) -> list[Row]:
    """Entities whose normalised name or an alias contains `norm`; exact matches first."""
    pattern = f"%{norm}%"
    return await (await conn.execute(
        f"""SELECT {_COLUMNS} FROM knowledge.entities
             WHERE collection = %s AND (norm LIKE %s OR EXISTS (SELECT 1 FROM unnest(aliases) a WHERE a LIKE %s))
             ORDER BY (norm = %s) DESC, length(norm), name LIMIT %s""",  # noqa: S608 - fixed column list
        (collection, pattern, pattern, norm, limit))).fetchall()


async def entities_named_in(*, conn: Conn, collections: Sequence[str], text: str, limit: int) -> list[Row]:
    """Entities whose normalised name (3+ characters) occurs as whole words in the normalised
    `text`; longest names first. Rows carry `id` and `collection`."""
    return await (await conn.execute(
        """SELECT id::text, collection FROM knowledge.entities
            WHERE collection = ANY(%s) AND length(norm) >= 3 AND position(' ' || norm || ' ' IN %s) > 0
            ORDER BY length(norm) DESC LIMIT %s""",
        (list(collections), f" {text} ", limit))).fetchall()


async def match_by_name(*, conn: Conn, collection: str, norm: str) -> Row | None:
    return await (await conn.execute(
        f"""SELECT {_COLUMNS}, norm FROM knowledge.entities
             WHERE collection = %s AND (norm = %s OR %s = ANY(aliases)) LIMIT 1""",  # noqa: S608
        (collection, norm, norm))).fetchone()


async def nearest_by_embedding(*, conn: Conn, collection: str, vector: Sequence[float]) -> Row | None:
    """The entity whose name embedding is closest, with its cosine `similarity`."""
    literal = vector_literal(vector)
    return await (await conn.execute(
        f"""SELECT {_COLUMNS}, norm, 1 - (embedding <=> %s::public.vector) AS similarity
              FROM knowledge.entities WHERE collection = %s
             ORDER BY embedding <=> %s::public.vector LIMIT 1""",  # noqa: S608
        (literal, collection, literal))).fetchone()


async def register_entity(*, conn: Conn, entity_id: str, collection: str, name: str, norm: str, type: str,
                          vector: Sequence[float]) -> Row:
    """Insert the entity, or return the one already registered under the same name."""
    row = await (await conn.execute(
        f"""INSERT INTO knowledge.entities (id, collection, name, norm, type, embedding)
            VALUES (%s, %s, %s, %s, %s, %s::public.vector)
            ON CONFLICT (collection, norm) DO UPDATE SET name = knowledge.entities.name
            RETURNING {_COLUMNS}""",  # noqa: S608
        (entity_id, collection, name, norm, type, vector_literal(vector)))).fetchone()
    assert row is not None  # noqa: S101 - RETURNING always yields the row
    return row


async def set_aliases(*, conn: Conn, entity_id: str, aliases: list[str]) -> None:
    await conn.execute("UPDATE knowledge.entities SET aliases = %s WHERE id = %s", (aliases, entity_id))


async def entity_ids(*, conn: Conn, collection: str) -> list[str]:
    rows = await (await conn.execute("SELECT id::text FROM knowledge.entities WHERE collection = %s",
                                     (collection,))).fetchall()
    return [r["id"] for r in rows]


async def delete_entities_except(*, conn: Conn, collection: str, keep: Sequence[str]) -> None:
    """Remove the collection's entities that are not in `keep` (no fact mentions them any more)."""
    await conn.execute("DELETE FROM knowledge.entities WHERE collection = %s AND NOT (id = ANY(%s::uuid[]))",
                       (collection, list(keep)))
