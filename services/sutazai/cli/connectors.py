"""`sutazai connectors`: connect a folder, a Git repository, a mailbox or an intranet site to a
collection, sync it (following the run with a progress bar), and read each connector's status
and the errors of its runs."""

from __future__ import annotations

import os
import re
import time
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sutazai.cli.evals import ApiKey, DataDir, Url, _client, _fail
from sutazai.cli.evals import send as _send
from sutazai.lib.contracts.knowledge import CONNECTORS

connectors_app = typer.Typer(no_args_is_help=True, help="Sync a folder, a Git repository, an IMAP mailbox or an "
                                                        "intranet site into a collection, and see how it went.")
add_app = typer.Typer(no_args_is_help=True, help="Connect a source to a collection you administer (its first "
                                                 "sync starts at once; `sutazai connectors sync NAME` follows it).")
connectors_app.add_typer(add_app, name="add")
out = Console()

Collection = Annotated[str, typer.Option("--collection", "-c", help="The collection it writes into.")]
Every = Annotated[str | None, typer.Option("--every", help="Sync on a schedule: 30m, 6h, 1d or seconds (at least "
                                                           "a minute); default: only when asked.")]
Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the first sync until it ends.")]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(every: str | None) -> int | None:
    """'30m' -> 1800; None stays None; a one-line error for anything else."""
    if every is None:
        return None
    found = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", every)
    if not found:
        raise _fail(f"--every {every!r}: write a number with s, m, h or d (30m, 6h, 1d)")
    return int(found.group(1)) * _UNITS[found.group(2) or "s"]


def _secret(env: str | None, prompt: str | None) -> str | None:
    if env:
        value = os.environ.get(env)
        if not value:
            raise _fail(f"the environment variable {env} is not set")
        return value
    if prompt:
        return str(typer.prompt(prompt, hide_input=True))
    return None


def _create(body: dict[str, Any], *, key: str | None, url: str | None, data_dir: Any, wait: bool) -> None:
    with _client(url, key, data_dir) as client:
        created = _send(client, "POST", CONNECTORS, (201,), json=body)
        out.print(f"connector [bold]{created['name']}[/bold] ({created['kind']}) writes into collection "
                  f"{created['collection']}; its first sync has started", highlight=False)
        if wait:
            _follow(client, created["name"], after=None)


@add_app.command("folder")
def add_folder(
    name: Annotated[str, typer.Argument(help="A name for it (lower-case letters, digits, - and _).")],
    path: Annotated[str, typer.Argument(help="The folder, as the knowledge service sees it (inside "
                                             "SUTAZAI_CONNECTOR_ROOTS).")],
    collection: Collection,
    pattern: Annotated[list[str] | None, typer.Option("--pattern", help="Only files matching (repeatable); "
                                                                        "default: every supported type.")] = None,
    every: Every = None, wait: Wait = True, key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """A watched folder or mounted share: files added, changed and removed there follow."""
    _create({"name": name, "kind": "folder", "collection": collection, "every_seconds": seconds(every),
             "config": {"path": path, "patterns": pattern or []}}, key=key, url=url, data_dir=data_dir, wait=wait)


@add_app.command("git")
def add_git(
    name: Annotated[str, typer.Argument(help="A name for it.")],
    repository: Annotated[str, typer.Argument(help="A repository folder (inside SUTAZAI_CONNECTOR_ROOTS) or an "
                                                   "http(s) URL on an allowed host.")],
    collection: Collection,
    branch: Annotated[str, typer.Option(help="The branch whose files are synced.")] = "main",
    pattern: Annotated[list[str] | None, typer.Option("--pattern", help="Only files matching (repeatable).")] = None,
    history: Annotated[bool, typer.Option("--history/--no-history", help="Also sync the branch's history of "
                                                                         "changes as a document.")] = True,
    username: Annotated[str | None, typer.Option(help="For http(s): the user the token belongs to.")] = None,
    token_env: Annotated[str | None, typer.Option(help="For http(s): the environment variable holding the "
                                                       "password or token.")] = None,
    every: Every = None, wait: Wait = True, key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """A Git repository: the files of a branch, and its history of changes."""
    _create({"name": name, "kind": "git", "collection": collection, "every_seconds": seconds(every),
             "secret": _secret(token_env, None),
             "config": {"url": repository, "branch": branch, "patterns": pattern or [], "history": history,
                        "username": username}}, key=key, url=url, data_dir=data_dir, wait=wait)


@add_app.command("imap")
def add_imap(
    name: Annotated[str, typer.Argument(help="A name for it.")],
    host: Annotated[str, typer.Option(help="The mail server (an allowed host).")],
    username: Annotated[str, typer.Option(help="The mailbox's user.")],
    collection: Collection,
    port: Annotated[int, typer.Option(help="993 for IMAPS, 143 for STARTTLS.")] = 993,
    security: Annotated[str, typer.Option(help="tls, starttls, or none (a server on this host only).")] = "tls",
    mailbox: Annotated[str, typer.Option(help="The folder to sync.")] = "INBOX",
    password_env: Annotated[str | None, typer.Option(help="The environment variable holding the password "
                                                          "(default: asked for).")] = None,
    every: Every = None, wait: Wait = True, key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """An IMAP mailbox: messages and their attachments; a message deleted there leaves the collection."""
    _create({"name": name, "kind": "imap", "collection": collection, "every_seconds": seconds(every),
             "secret": _secret(password_env, f"password of {username}@{host}"),
             "config": {"host": host, "port": port, "security": security, "username": username,
                        "mailbox": mailbox}}, key=key, url=url, data_dir=data_dir, wait=wait)


@add_app.command("web")
def add_web(
    name: Annotated[str, typer.Argument(help="A name for it.")],
    start: Annotated[str, typer.Argument(help="Where the crawl starts (http(s), an allowed host).")],
    collection: Collection,
    max_pages: Annotated[int, typer.Option(min=1, max=10_000, help="Stop after this many pages.")] = 200,
    prefix: Annotated[str | None, typer.Option(help="Only URLs under this path (default: the start URL's "
                                                    "folder).")] = None,
    every: Every = None, wait: Wait = True, key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """An intranet site, crawled within its host as its robots.txt allows."""
    _create({"name": name, "kind": "web", "collection": collection, "every_seconds": seconds(every),
             "config": {"url": start, "max_pages": max_pages, "prefix": prefix}},
            key=key, url=url, data_dir=data_dir, wait=wait)


def _run_line(run: dict[str, Any] | None) -> str:
    if not run:
        return "never synced"
    counts = ", ".join(f"{run[k]} {k}" for k in ("added", "changed", "deleted", "unchanged", "failed") if run[k])
    state = run["state"] + (f": {run['error']}" if run.get("error") else "")
    return f"{state}{' (' + counts + ')' if counts else ''}"


@connectors_app.command("list")
def connectors_list(key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """Connectors of the collections you may use, with their last sync."""
    with _client(url, key, data_dir) as client:
        rows = _send(client, "GET", CONNECTORS, (200,))
    if not rows:
        out.print("no connector yet: `sutazai connectors add folder NAME PATH -c COLLECTION` adds one")
        return
    table = Table("name", "kind", "collection", "items", "last sync", "next sync")
    for r in rows:
        table.add_row(r["name"], r["kind"], r["collection"], str(r["items"]), _run_line(r["last_run"]),
                      "syncing now" if r["syncing"] else (r["next_sync_at"] or "when asked")[:19])
    out.print(table)


@connectors_app.command("show")
def connectors_show(
    name: Annotated[str, typer.Argument(help="The connector's name or id.")],
    runs: Annotated[int, typer.Option(min=1, max=100, help="How many recent runs.")] = 5,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """One connector: where it reads, its schedule, its recent runs and their errors."""
    with _client(url, key, data_dir) as client:
        c = _send(client, "GET", f"{CONNECTORS}/{name}", (200,), params={"runs": runs})
    where = ", ".join(f"{k} {v}" for k, v in c["config"].items() if v not in (None, [], ""))
    for label, value in (("name", c["name"]), ("kind", c["kind"]), ("collection", c["collection"]), ("reads", where),
                         ("secret", "set (sealed)" if c["has_secret"] else "none"),
                         ("schedule", f"every {c['every_seconds']} s" if c["every_seconds"] else "when asked"),
                         ("items", c["items"]), ("created", f"{c['created_at'][:19]} by {c['created_by']}")):
        out.print(f"{label:>10}  {value}", highlight=False)
    for run in c["runs"]:
        out.print(f"\n[bold]{run['started_at'][:19]}[/bold] {run['trigger']}: {_run_line(run)}", highlight=False)
        for error in run["errors"][:20]:
            out.print(f"  [red]✗[/red] {error['item']}: {error['reason']}", highlight=False)
        if len(run["errors"]) > 20:
            out.print(f"  … and {len(run['errors']) - 20} more (the API lists them all)")


@connectors_app.command("sync")
def connectors_sync(
    name: Annotated[str, typer.Argument(help="The connector's name or id.")],
    wait: Wait = True, key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Sync now, and follow the run until it ends."""
    with _client(url, key, data_dir) as client:
        before = _send(client, "GET", f"{CONNECTORS}/{name}", (200,))
        _send(client, "POST", f"{CONNECTORS}/{name}/sync", (202,))
        if wait:
            _follow(client, name, after=(before["last_run"] or {}).get("id"))
        else:
            out.print(f"sync of {name} requested; `sutazai connectors show {name}` shows how it went")


def _follow(client: httpx.Client, name: str, *, after: str | None, timeout: float = 24 * 3600) -> None:
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[counts]}"),
               TimeElapsedColumn())
    deadline = time.monotonic() + timeout
    with Progress(*columns, console=out, transient=False) as progress:
        task = progress.add_task(f"syncing {name}", total=None, counts="waiting for a worker")
        while True:
            c = _send(client, "GET", f"{CONNECTORS}/{name}", (200,))
            run = c["last_run"]
            if run and run["id"] != after:
                progress.update(task, counts=f"{run['seen']} items: " + _run_line(run).split(" (", 1)[-1].rstrip(")"))
                if run["state"] != "running":
                    progress.update(task, total=1, completed=1)
                    break
            if time.monotonic() > deadline:
                raise _fail(f"the sync of {name} has not ended; `sutazai connectors show {name}` follows it")
            time.sleep(0.5)
    out.print(f"{name}: {_run_line(run)}", highlight=False)
    for error in run["errors"][:20]:
        out.print(f"  [red]✗[/red] {error['item']}: {error['reason']}", highlight=False)
    if run["state"] == "failed":
        raise typer.Exit(1)


@connectors_app.command("remove")
def connectors_remove(
    name: Annotated[str, typer.Argument(help="The connector's name or id.")],
    documents: Annotated[bool, typer.Option("--documents/--keep-documents", help="Also delete every document "
                                                                               "it synced.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Remove a connector (its documents stay unless --documents)."""
    if not yes:
        what = " and every document it synced" if documents else " (its documents stay)"
        typer.confirm(f"remove connector {name}{what}?", abort=True)
    with _client(url, key, data_dir) as client:
        _send(client, "DELETE", f"{CONNECTORS}/{name}", (204,), params={"documents": str(documents).lower()})
    out.print(f"removed connector {name}", highlight=False)
