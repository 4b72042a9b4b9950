"""SQL of users, groups, grants and directory mappings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypedDict

from sutazai.identity.store import Conn


class UserRow(TypedDict):
    user_id: uuid.UUID
    username: str
    display_name: str
    email: str | None
    password_hash: str | None
    source: str
    external_id: str | None
    created_by: str
    created_at: datetime
    disabled_at: datetime | None
    sessions_valid_after: datetime
    failed_sign_ins: int
    locked_until: datetime | None
    last_sign_in_at: datetime | None


async def _one(conn: Conn, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
    cur = await conn.execute(sql, params)
    return await cur.fetchone()


async def insert_user(*, conn: Conn, username: str, display_name: str, email: str | None,
                      password_hash: str | None, source: str, external_id: str | None, created_by: str) -> UserRow:
    row = await _one(conn, """INSERT INTO identity.users
                               (username, display_name, email, password_hash, source, external_id, created_by)
                              VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *""",
                     (username, display_name, email, password_hash, source, external_id, created_by))
    assert row is not None  # noqa: S101 - INSERT ... RETURNING yields the row
    return row  # type: ignore[return-value]


async def get_user(*, conn: Conn, user_id: uuid.UUID | None = None, username: str | None = None,
                   lock: bool = False) -> UserRow | None:
    where, value = ("user_id = %s", user_id) if user_id is not None else ("username = %s", username)
    sql = f"SELECT * FROM identity.users WHERE {where}" + (" FOR UPDATE" if lock else "")  # noqa: S608 - fixed text
    return await _one(conn, sql, (value,))  # type: ignore[return-value]


async def get_external_user(*, conn: Conn, source: str, external_id: str) -> UserRow | None:
    return await _one(conn, "SELECT * FROM identity.users WHERE source = %s AND external_id = %s",  # type: ignore[return-value]
                      (source, external_id))


async def list_users(*, conn: Conn) -> list[UserRow]:
    cur = await conn.execute("SELECT * FROM identity.users ORDER BY username")
    return await cur.fetchall()  # type: ignore[return-value]


async def update_user(*, conn: Conn, user_id: uuid.UUID, **changes: Any) -> None:
    """Set the named columns (names come from code, never from a request)."""
    columns = ", ".join(f"{name} = %s" for name in changes)
    await conn.execute(f"UPDATE identity.users SET {columns} WHERE user_id = %s",  # noqa: S608 - names from code
                       (*changes.values(), user_id))


async def end_sessions(*, conn: Conn, user_id: uuid.UUID) -> None:
    """Every bearer token issued to the user so far stops working."""
    await conn.execute("UPDATE identity.users SET sessions_valid_after = now() WHERE user_id = %s", (user_id,))


async def record_failure(*, conn: Conn, user_id: uuid.UUID, threshold: int, lock_minutes: int) -> UserRow:
    """Count a failed sign-in; at `threshold` consecutive failures lock the account."""
    row = await _one(conn, """UPDATE identity.users SET
                                 failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= %s THEN 0
                                                        ELSE failed_sign_ins + 1 END,
                                 locked_until = CASE WHEN failed_sign_ins + 1 >= %s
                                                     THEN now() + make_interval(mins => %s) ELSE locked_until END
                              WHERE user_id = %s RETURNING *""",
                     (threshold, threshold, lock_minutes, user_id))
    assert row is not None  # noqa: S101 - the caller holds the row locked
    return row  # type: ignore[return-value]


async def record_success(*, conn: Conn, user_id: uuid.UUID) -> None:
    await conn.execute("""UPDATE identity.users SET failed_sign_ins = 0, locked_until = NULL, last_sign_in_at = now()
                          WHERE user_id = %s""", (user_id,))


async def delete_user(*, conn: Conn, user_id: uuid.UUID) -> bool:
    cur = await conn.execute("DELETE FROM identity.users WHERE user_id = %s", (user_id,))
    return cur.rowcount == 1


# groups ---------------------------------------------------------------------------------------

async def insert_group(*, conn: Conn, name: str, description: str, created_by: str) -> dict[str, Any]:
    row = await _one(conn, """INSERT INTO identity.groups (name, description, created_by) VALUES (%s, %s, %s)
                              RETURNING *""", (name, description, created_by))
    assert row is not None  # noqa: S101
    return row


async def get_group(*, conn: Conn, name: str) -> dict[str, Any] | None:
    return await _one(conn, "SELECT * FROM identity.groups WHERE name = %s", (name,))


async def list_groups(*, conn: Conn) -> list[dict[str, Any]]:
    cur = await conn.execute(
        """SELECT g.*, coalesce(array_agg(u.username ORDER BY u.username) FILTER (WHERE u.username IS NOT NULL),
                                '{}') AS members
           FROM identity.groups g LEFT JOIN identity.group_members m USING (group_id)
           LEFT JOIN identity.users u USING (user_id) GROUP BY g.group_id ORDER BY g.name""")
    return await cur.fetchall()


async def delete_group(*, conn: Conn, group_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM identity.groups WHERE group_id = %s", (group_id,))


async def add_member(*, conn: Conn, group_id: uuid.UUID, user_id: uuid.UUID, source: str = "local") -> bool:
    cur = await conn.execute("""INSERT INTO identity.group_members (group_id, user_id, source) VALUES (%s, %s, %s)
                                ON CONFLICT DO NOTHING""", (group_id, user_id, source))
    return cur.rowcount == 1


async def remove_member(*, conn: Conn, group_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    cur = await conn.execute("DELETE FROM identity.group_members WHERE group_id = %s AND user_id = %s",
                             (group_id, user_id))
    return cur.rowcount == 1


async def user_groups(*, conn: Conn, user_id: uuid.UUID) -> list[dict[str, Any]]:
    cur = await conn.execute("""SELECT g.group_id, g.name, m.source FROM identity.group_members m
                                JOIN identity.groups g USING (group_id) WHERE m.user_id = %s ORDER BY g.name""",
                             (user_id,))
    return await cur.fetchall()


# grants ---------------------------------------------------------------------------------------

async def effective_grants(*, conn: Conn, user_id: uuid.UUID) -> list[tuple[str, str]]:
    """(collection, role) the user holds directly or through a group (every row; the caller
    keeps the highest role per collection)."""
    cur = await conn.execute(
        """SELECT collection, role FROM identity.grants WHERE user_id = %s
           UNION ALL
           SELECT g.collection, g.role FROM identity.grants g
             JOIN identity.group_members m ON m.group_id = g.group_id WHERE m.user_id = %s""",
        (user_id, user_id))
    return [(row["collection"], row["role"]) for row in await cur.fetchall()]


async def set_grant(*, conn: Conn, user_id: uuid.UUID | None, group_id: uuid.UUID | None, collection: str,
                    role: str, granted_by: str) -> None:
    if user_id is not None:
        await conn.execute("""INSERT INTO identity.grants (user_id, collection, role, granted_by)
                              VALUES (%s, %s, %s, %s) ON CONFLICT (user_id, collection) WHERE user_id IS NOT NULL
                              DO UPDATE SET role = EXCLUDED.role, granted_by = EXCLUDED.granted_by,
                                            granted_at = now()""", (user_id, collection, role, granted_by))
    else:
        await conn.execute("""INSERT INTO identity.grants (group_id, collection, role, granted_by)
                              VALUES (%s, %s, %s, %s) ON CONFLICT (group_id, collection) WHERE group_id IS NOT NULL
                              DO UPDATE SET role = EXCLUDED.role, granted_by = EXCLUDED.granted_by,
                                            granted_at = now()""", (group_id, collection, role, granted_by))


async def delete_grant(*, conn: Conn, user_id: uuid.UUID | None, group_id: uuid.UUID | None,
                       collection: str) -> dict[str, Any] | None:
    return await _one(conn, """DELETE FROM identity.grants WHERE collection = %s
                               AND (user_id = %s OR group_id = %s) RETURNING *""", (collection, user_id, group_id))


async def get_grant(*, conn: Conn, user_id: uuid.UUID | None, group_id: uuid.UUID | None,
                    collection: str) -> dict[str, Any] | None:
    return await _one(conn, """SELECT * FROM identity.grants WHERE collection = %s
                               AND (user_id = %s OR group_id = %s)""", (collection, user_id, group_id))


async def list_grants(*, conn: Conn) -> list[dict[str, Any]]:
    cur = await conn.execute(
        """SELECT g.grant_id, g.collection, g.role, g.granted_by, g.granted_at,
                  CASE WHEN g.user_id IS NOT NULL THEN 'user' ELSE 'group' END AS grantee_kind,
                  coalesce(u.username, gr.name) AS grantee
           FROM identity.grants g LEFT JOIN identity.users u USING (user_id)
           LEFT JOIN identity.groups gr ON gr.group_id = g.group_id ORDER BY g.collection, grantee""")
    return await cur.fetchall()


async def operator_admin_keys(*, conn: Conn) -> int:
    """Active admin keys of every collection that belong to no user (made by the operator)."""
    row = await _one(conn, """SELECT count(*) AS n FROM identity.api_keys WHERE role = 'admin'
                              AND collections = '{}' AND revoked_at IS NULL AND user_id IS NULL""", ())
    return int((row or {}).get("n", 0))


async def lock_administrators(*, conn: Conn) -> None:
    """Serialise, until the transaction ends, changes that could remove the last administrator."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('identity.administrators'))")


async def unrestricted_admin_users(*, conn: Conn) -> list[uuid.UUID]:
    """Enabled users who administer every collection (directly or through a group), locked."""
    cur = await conn.execute(
        """SELECT u.user_id FROM identity.users u WHERE u.disabled_at IS NULL AND EXISTS (
               SELECT 1 FROM identity.grants g LEFT JOIN identity.group_members m ON m.group_id = g.group_id
               WHERE g.collection = '*' AND g.role = 'admin' AND (g.user_id = u.user_id OR m.user_id = u.user_id))
           ORDER BY u.user_id FOR UPDATE OF u""")
    return [row["user_id"] for row in await cur.fetchall()]


# directory mappings ---------------------------------------------------------------------------

async def set_mapping(*, conn: Conn, provider: str, external_group: str, group_id: uuid.UUID, created_by: str) -> None:
    await conn.execute("""INSERT INTO identity.directory_mappings (provider, external_group, group_id, created_by)
                          VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                       (provider, external_group, group_id, created_by))


async def delete_mapping(*, conn: Conn, provider: str, external_group: str, group_id: uuid.UUID) -> bool:
    cur = await conn.execute("""DELETE FROM identity.directory_mappings
                                WHERE provider = %s AND external_group = %s AND group_id = %s""",
                             (provider, external_group, group_id))
    return cur.rowcount == 1


async def list_mappings(*, conn: Conn) -> list[dict[str, Any]]:
    cur = await conn.execute("""SELECT m.provider, m.external_group, g.name AS group_name, m.created_by, m.created_at
                                FROM identity.directory_mappings m JOIN identity.groups g USING (group_id)
                                ORDER BY m.provider, m.external_group""")
    return await cur.fetchall()


async def sync_directory_groups(*, conn: Conn, user_id: uuid.UUID, provider: str, external_groups: list[str]) -> None:
    """Make the user's memberships asserted by `provider` match its directory groups now: join
    every SutazAI group mapped from one of them, leave those the directory no longer asserts."""
    await conn.execute(
        """DELETE FROM identity.group_members m WHERE m.user_id = %s AND m.source = %s
           AND m.group_id NOT IN (SELECT group_id FROM identity.directory_mappings
                                  WHERE provider = %s AND external_group = ANY(%s))""",
        (user_id, provider, provider, external_groups))
    await conn.execute(
        """INSERT INTO identity.group_members (group_id, user_id, source)
           SELECT DISTINCT group_id, %s, %s FROM identity.directory_mappings
           WHERE provider = %s AND external_group = ANY(%s) ON CONFLICT DO NOTHING""",
        (user_id, provider, provider, external_groups))
