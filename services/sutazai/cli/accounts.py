"""`sutazai users | groups | grants`: people, their groups and what they may do, straight in the
identity database (the operator at the host; every change is in the audit log as `cli`)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from sutazai.lib.access import Role

T = TypeVar("T")
users_app = typer.Typer(no_args_is_help=True, help="Create users, set passwords, disable and unlock them.")
groups_app = typer.Typer(no_args_is_help=True, help="Groups of users, and directory (LDAP/OIDC) groups mapped to them.")
grants_app = typer.Typer(no_args_is_help=True, help="Roles on collections, granted to users or groups.")
out = Console()
err = Console(stderr=True)

DataDir = Annotated[Path | None, typer.Option(
    "--data-dir", envvar="SUTAZAI_DATA_DIR", show_default=False,
    help="Where the embedded stack keeps everything \\[default: ~/.local/share/sutazai].")]


def _run(data_dir: Path | None, work: Callable[..., Awaitable[T]]) -> T:
    from sutazai.cli.main import _fail, _identity_dsn
    from sutazai.identity.bootstrap import with_accounts
    from sutazai.lib.errors import SutazaiError

    try:
        return asyncio.run(with_accounts(_identity_dsn(data_dir), work))
    except SutazaiError as exc:
        raise _fail(exc.detail) from None
    except Exception as exc:  # noqa: BLE001 - shown as one line
        raise _fail(f"{type(exc).__name__}: {exc}") from None


def _password(stdin: bool, prompt: str) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass("again: ") != first:
        raise typer.BadParameter("the two passwords differ")
    return first


PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin "
                                                                        "(for scripts) instead of prompting.")]


@users_app.command("create")
def create_user(
    username: Annotated[str, typer.Argument(help="Lower-case user name.")],
    display_name: Annotated[str, typer.Option("--name", help="Full name shown in the UI.")] = "",
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    sso_only: Annotated[bool, typer.Option("--sso-only", help="No password: signs in through LDAP or OIDC.")] = False,
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
) -> None:
    """Create a user (with a password, asked twice, unless --sso-only)."""
    password = None if sso_only else _password(password_stdin, f"password for {username}")
    row = _run(data_dir, lambda a: a.create_user(username=username, password=password, display_name=display_name,
                                                 email=email, actor="cli"))
    out.print(f"created user [bold]{row['username']}[/bold]; grant it a collection with "
              f"[bold]sutazai grants set --user {row['username']} COLLECTION[/bold]", highlight=False)


@users_app.command("list")
def list_users(data_dir: DataDir = None) -> None:
    """Users, their groups, grants and state."""
    rows = _run(data_dir, lambda a: a.list_users())
    table = Table("user", "source", "groups", "grants", "state")
    for row in rows:
        state = ("disabled" if row["disabled_at"] else f"locked until {row['locked_until']:%H:%M}"
                 if row["locked_until"] else "active")
        grants = ", ".join(f"{c}: {r}" for c, r in row["grants"].items()) or "-"
        table.add_row(row["username"], row["source"], ", ".join(row["groups"]) or "-", grants, state)
    out.print(table)


@users_app.command("password")
def set_password(username: str, password_stdin: PasswordStdin = False, data_dir: DataDir = None) -> None:
    """Set a new password for a user (every session of the user ends)."""
    password = _password(password_stdin, f"new password for {username}")
    _run(data_dir, lambda a: a.reset_password(username=username, password=password, actor="cli"))
    out.print(f"password of {username} changed; its sessions have ended", highlight=False)


@users_app.command("disable")
def disable_user(username: str, data_dir: DataDir = None) -> None:
    """Disable a user: sign-in refused, every session and key of the user stops at once."""
    _run(data_dir, lambda a: a.set_enabled(username=username, enabled=False, actor="cli"))
    out.print(f"{username} is disabled", highlight=False)


@users_app.command("enable")
def enable_user(username: str, data_dir: DataDir = None) -> None:
    """Enable a disabled user again."""
    _run(data_dir, lambda a: a.set_enabled(username=username, enabled=True, actor="cli"))
    out.print(f"{username} is enabled", highlight=False)


@users_app.command("unlock")
def unlock_user(username: str, data_dir: DataDir = None) -> None:
    """Lift the lockout after repeated failed sign-ins."""
    _run(data_dir, lambda a: a.unlock(username=username, actor="cli"))
    out.print(f"{username} is unlocked", highlight=False)


@users_app.command("delete")
def delete_user(username: str, data_dir: DataDir = None) -> None:
    """Delete a user with its keys and grants."""
    _run(data_dir, lambda a: a.delete_user(username=username, actor="cli"))
    out.print(f"{username} is deleted", highlight=False)


@groups_app.command("create")
def create_group(name: str, description: Annotated[str, typer.Option(help="What the group is.")] = "",
                 data_dir: DataDir = None) -> None:
    """Create a group."""
    _run(data_dir, lambda a: a.create_group(name=name, description=description, actor="cli"))
    out.print(f"created group [bold]{name}[/bold]", highlight=False)


@groups_app.command("list")
def list_groups(data_dir: DataDir = None) -> None:
    """Groups and their members."""
    rows = _run(data_dir, lambda a: a.list_groups())
    table = Table("group", "members", "description")
    for row in rows:
        table.add_row(row["name"], ", ".join(row["members"]) or "-", row["description"])
    out.print(table)


@groups_app.command("add")
def add_member(group: str, username: str, data_dir: DataDir = None) -> None:
    """Add a user to a group."""
    _run(data_dir, lambda a: a.set_member(group=group, username=username, member=True, actor="cli"))
    out.print(f"{username} joined {group}", highlight=False)


@groups_app.command("remove")
def remove_member(group: str, username: str, data_dir: DataDir = None) -> None:
    """Remove a user from a group (its access through the group ends at once)."""
    _run(data_dir, lambda a: a.set_member(group=group, username=username, member=False, actor="cli"))
    out.print(f"{username} left {group}", highlight=False)


@groups_app.command("delete")
def delete_group(group: str, data_dir: DataDir = None) -> None:
    """Delete a group and its grants."""
    _run(data_dir, lambda a: a.delete_group(name=group, actor="cli"))
    out.print(f"group {group} is deleted", highlight=False)


@groups_app.command("map")
def map_group(
    provider: Annotated[str, typer.Argument(help="ldap or oidc.")],
    external_group: Annotated[str, typer.Argument(help="LDAP group DN, or a value of the OIDC groups claim.")],
    group: Annotated[str, typer.Argument(help="The SutazAI group its members join at sign-in.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove the mapping instead.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Map a directory group to a SutazAI group: its members join at every sign-in, and leave
    when the directory no longer lists them."""
    _run(data_dir, lambda a: a.map_group(provider=provider, external_group=external_group, group=group,
                                         mapped=not remove, actor="cli"))
    out.print(f"{provider} group {external_group} {'no longer maps' if remove else 'maps'} to {group}",
              highlight=False)



@grants_app.command("set")
def set_grant(
    collection: Annotated[str, typer.Argument(help="A collection, or '*' for every collection.")],
    role: Annotated[Role, typer.Option(help="Role on the collection.")] = Role.user,
    user: Annotated[str | None, typer.Option(help="Grant to this user.")] = None,
    group: Annotated[str | None, typer.Option(help="Grant to this group.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Grant a role on a collection to a user or a group."""
    from sutazai.identity.bootstrap import OPERATOR

    _run(data_dir, lambda a: a.grant(by=OPERATOR, user=user, group=group, collection=collection, role=role))
    out.print(f"{user or group} has role {role.value} on {collection}", highlight=False)


@grants_app.command("revoke")
def revoke_grant(
    collection: Annotated[str, typer.Argument(help="A collection, or '*'.")],
    user: Annotated[str | None, typer.Option(help="Withdraw from this user.")] = None,
    group: Annotated[str | None, typer.Option(help="Withdraw from this group.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Withdraw a grant: the access ends at once, for sessions and keys alike."""
    from sutazai.identity.bootstrap import OPERATOR

    _run(data_dir, lambda a: a.revoke_grant(by=OPERATOR, user=user, group=group, collection=collection))
    out.print(f"{user or group} no longer holds a role on {collection}", highlight=False)


@grants_app.command("list")
def list_grants(data_dir: DataDir = None) -> None:
    """Every grant."""
    from sutazai.identity.bootstrap import OPERATOR

    rows = _run(data_dir, lambda a: a.list_grants(by=OPERATOR))
    table = Table("collection", "role", "grantee", "granted by")
    for row in rows:
        table.add_row(row["collection"], row["role"], f"{row['grantee_kind']} {row['grantee']}", row["granted_by"])
    out.print(table)
