"""`sutazai documents`, `sutazai traces` and `sutazai keys`: what is stored, as the API shows it
to the key in use (a user sees their collections' documents and their own traces; admins more)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table

from sutazai.cli.evals import ApiKey, DataDir, Url, _client, _fail
from sutazai.cli.evals import id_arg as _id
from sutazai.cli.evals import send as _send
from sutazai.lib.contracts.identity import PREFIX as IDENTITY
from sutazai.lib.contracts.knowledge import PREFIX as KNOWLEDGE
from sutazai.lib.contracts.reasoning import PREFIX as REASONING

documents_app = typer.Typer(no_args_is_help=True, help="List, show and delete documents (the ids other commands "
                                                       "and the API examples need).")
traces_app = typer.Typer(no_args_is_help=True, help="Read a stored trace: the plan, every step, the answer and "
                                                    "its sources.")
keys_app = typer.Typer(no_args_is_help=True, help="List and revoke API keys (admins, within their collections).")
out = Console()



@documents_app.command("list")
def documents_list(
    collection: Annotated[str | None, typer.Option(help="The collection (default: your key's only one).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 100,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Documents of a collection with their ids, state and size."""
    params: dict[str, Any] = {"limit": limit} | ({"collection": collection} if collection else {})
    with _client(url, key, data_dir) as client:
        rows = _send(client, "GET", f"{KNOWLEDGE}/documents", (200,), params=params)
    if not rows:
        out.print("no document yet: `sutazai ingest FILE...` adds some")
        return
    table = Table(Column("id", overflow="fold", min_width=36), "source", "collection", "state", "graph", "chunks",
                  "updated")  # the id whole, whatever the width: it is what gets copied
    for r in rows:
        table.add_row(r["id"], r["source"], r["collection"], r["status"], r["graph"]["state"], str(r["chunk_count"]),
                      r["updated_at"][:19])
    out.print(table)
    out.print(f"{len(rows)} document{'s' if len(rows) != 1 else ''}", highlight=False)


@documents_app.command("show")
def documents_show(
    document: Annotated[str, typer.Argument(help="The document id.")],
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """One document: source, digest, state of both stages, tags."""
    with _client(url, key, data_dir) as client:
        doc = _send(client, "GET", f"{KNOWLEDGE}/documents/{_id(document, 'document')}", (200,))
    graph = doc["graph"]
    for label, value in (("id", doc["id"]), ("source", doc["source"]), ("title", doc["title"] or "–"),
                         ("collection", doc["collection"]), ("type", doc["media_type"]), ("sha256", doc["sha256"]),
                         ("version", doc["version"]), ("date", doc["date"]), ("tags", ", ".join(doc["tags"]) or "–"),
                         ("indexing", doc["status"] + (f" ({doc['error']})" if doc["error"] else "")),
                         ("chunks", doc["chunk_count"]),
                         ("graph", f"{graph['state']}, {graph['chunks_read']} of {graph['chunks']} chunks read"
                                   + (f" ({graph['error']})" if graph.get("error") else "")),
                         ("updated", doc["updated_at"][:19])):
        out.print(f"{label:>10}  {value}", highlight=False)


@documents_app.command("delete")
def documents_delete(
    document: Annotated[str, typer.Argument(help="The document id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to confirm.")] = False,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Delete a document from the store, the search index and the graph."""
    doc_id = _id(document, "document")
    with _client(url, key, data_dir) as client:
        doc = _send(client, "GET", f"{KNOWLEDGE}/documents/{doc_id}", (200,))
        if not yes and not typer.confirm(f"delete {doc['source']} from {doc['collection']}?"):
            raise typer.Exit(1)
        _send(client, "DELETE", f"{KNOWLEDGE}/documents/{doc_id}", (204,))
    out.print(f"deleted {doc['source']} ({doc_id})", highlight=False)


@traces_app.command("show")
def traces_show(
    trace: Annotated[str, typer.Argument(help="The trace id (`sutazai ask` prints it).")],
    as_json: Annotated[bool, typer.Option("--json", help="The whole trace as JSON.")] = False,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """A trace: the question, every step (tool, state, model, time), the answer, its confidence and
    its sources with their chunk ids (what `sutazai feedback correct --passage` takes)."""
    with _client(url, key, data_dir) as client:
        found = _send(client, "GET", f"{REASONING}/traces/{_id(trace, 'trace')}", (200,))
    if as_json:
        out.print_json(json.dumps(found, default=str))
        return
    out.print(f"[bold]{found['question']}[/bold]  ({found['status']}, collection {found['collection'] or '–'})")
    steps = found["steps"]
    table = Table("step", "tool", "state", "model", "ms", "purpose")
    for s in steps:
        table.add_row(s["step_id"] or str(s["seq"]), s["tool"], s["status"] + (f": {s['error']}" if s["error"] else ""),
                      s["model"] or "–", f"{s['latency_ms']:.0f}", s["purpose"][:60])
    out.print(table)
    ran = [s for s in steps if s["step_id"] != "plan"]
    out.print(f"{len(steps)} step{'s' if len(steps) != 1 else ''}"
              + (f" (the plan and {len(ran)} that ran)" if len(ran) != len(steps) else ""), highlight=False)
    if found["answer"] is not None:
        confidence = "–" if found["confidence"] is None else f"{found['confidence']:.2f}"
        out.print(f"answer ({'abstained' if found['abstained'] else 'given'}, confidence {confidence}): "
                  f"{found['answer']}", highlight=False)
    elif found["error"]:
        out.print(f"failed: {found['error']}", highlight=False)
    for n, c in enumerate(found["citations"], 1):
        out.print(f"[{n}] {c.get('source') or c['document_id']} (chunk {c['chunk_id']}): "
                  f"{' '.join(c['text'].split())[:160]}", highlight=False)


@keys_app.command("list")
def keys_list(key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """Live API keys within your collections (ids, role, scope, last use); never the secrets."""
    with _client(url, key, data_dir) as client:
        rows = _send(client, "GET", f"{IDENTITY}/keys", (200,))
    shown = [r for r in rows if not r["revoked_at"]]
    table = Table(Column("key id", overflow="fold", min_width=12), "name", "role", "collections", "created",
                  "last used")
    for r in shown:
        table.add_row(r["key_id"], r["name"], r["role"], ", ".join(r["collections"]) or "every collection",
                      r["created_at"][:19], (r["last_used_at"] or "never")[:19])
    out.print(table)
    out.print(f"{len(shown)} key{'s' if len(shown) != 1 else ''}", highlight=False)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (`sutazai keys list`).")],
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Revoke a key and every token issued from it, at once."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key_id):
        raise _fail(f"{key_id!r} is not a key id (letters, digits, - and _, as `sutazai keys list` prints it)")
    with _client(url, key, data_dir) as client:
        _send(client, "DELETE", f"{IDENTITY}/keys/{key_id}", (204,))
    out.print(f"revoked {key_id}", highlight=False)
