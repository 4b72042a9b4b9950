"""Backup and restore of a SutazAI installation: one archive (tar + gzip) holding

- `postgres.dump`: every service's schema in one consistent snapshot (`pg_dump` custom format,
  a single repeatable-read transaction, so the stack may serve while it runs): documents and
  their stored bytes, chunks and their index, jobs, traces, feedback, keys, users, evaluations,
  calibrators, settings versions, the audit log;
- `graph.jsonl`: every entity and fact of every collection's knowledge graph, read through the
  GraphStore contract (so FalkorDB and Neo4j alike), entities before facts;
- `models.json`: which models were installed, with their sha256 (the weights themselves come
  from their packages again, verified by digest);
- `manifest.json`: the format, when and by which version it was made, and the sha256 and size of
  every other member.

Secrets (the data directory's `secrets/`, Vault) are never in it: a restored installation
makes new ones (API keys still work: only their hashes are stored; sessions must sign in
again). Redis holds nothing that must survive: job events are re-driven from PostgreSQL.

`restore` verifies every digest before it writes anything, and only into a data directory with
no database yet. The graph is taken just after the database's snapshot; facts of documents the
snapshot does not have are left out, and jobs that were running are queued again, so the
restored installation matches the snapshot (graph extraction re-runs for documents whose
extraction had not finished)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sutazai import __version__
from sutazai.knowledge.graph.interface import Entity, Fact, GraphStore
from sutazai.knowledge.maintenance import document_collections, settle_restored
from sutazai.runtime.postgres import EmbeddedPostgres, install_dir
from sutazai.runtime.processes import free_port
from sutazai.runtime.redis_server import EmbeddedRedis

FORMAT = 1
MEMBERS = ("postgres.dump", "graph.jsonl", "models.json")
Progress = Callable[[str], None]


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why and what to do."""


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _tool(name: str) -> str:
    return str(install_dir() / "bin" / name)


def _pg_env(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN without its password, and an environment that carries it (never a command line)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = conninfo_to_dict(dsn)
    password = str(parts.pop("password", "") or "")
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    return make_conninfo(**{k: str(v) for k, v in parts.items()}), env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True, text=True, env=env, timeout=3600,  # noqa: S603
                       stdin=subprocess.DEVNULL)
    except subprocess.CalledProcessError as exc:
        lines = (exc.stderr or exc.stdout or "").strip().splitlines()
        raise BackupError(f"{what} failed: {lines[-1] if lines else f'exit code {exc.returncode}'}") from exc


# ---- backup ------------------------------------------------------------------------------
def backup(*, dsn: str, graph: Callable[[], GraphStore], models: list[dict[str, Any]], out: Path,
           progress: Progress) -> dict[str, Any]:
    """Write the archive to `out` (atomically: a partial archive is never left under that name)."""
    out = out.expanduser().resolve()
    if out.exists():
        raise BackupError(f"{out} exists; choose a new file name (a backup never overwrites one)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sutazai-backup-") as work:
        folder = Path(work)
        progress("dumping PostgreSQL (one consistent snapshot)")
        plain, env = _pg_env(dsn)
        _run([_tool("pg_dump"), "--format=custom", "--compress=6", f"--file={folder / 'postgres.dump'}", plain],
             env, "pg_dump")
        collections = asyncio.run(document_collections(dsn))
        progress(f"exporting the knowledge graph of {len(collections)} collection(s)")
        counts = asyncio.run(_export_graph(graph, collections, folder / "graph.jsonl"))
        (folder / "models.json").write_text(json.dumps(models, indent=2))
        manifest = {
            "format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sutazai_version": __version__, "graph": counts, "collections": collections,
            "members": {name: {"sha256": _sha256(folder / name), "bytes": (folder / name).stat().st_size}
                        for name in MEMBERS},
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            for name in ("manifest.json", *MEMBERS):
                archive.add(folder / name, arcname=name)
        partial.chmod(0o600)  # it holds every document and every trace
        partial.rename(out)
    progress(f"wrote {out} ({out.stat().st_size / 1e6:,.1f} MB)")
    return manifest


async def _export_graph(graph: Callable[[], GraphStore], collections: list[str], path: Path) -> dict[str, int]:
    store = graph()
    counts = {"entities": 0, "facts": 0}
    try:
        with path.open("w", encoding="utf-8") as handle:
            for collection in collections:
                async for item in store.export(collection):
                    kind = "entity" if isinstance(item, Entity) else "fact"
                    counts["entities" if kind == "entity" else "facts"] += 1
                    handle.write(json.dumps({"collection": collection, "kind": kind,
                                             **dataclasses.asdict(item)}) + "\n")
    finally:
        await store.close()
    return counts


# ---- verify ------------------------------------------------------------------------------
def verify(archive: Path) -> dict[str, Any]:
    """The archive's manifest, once every member's size and sha256 match it; raises otherwise."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            names = tar.getnames()
            if sorted(names) != sorted(("manifest.json", *MEMBERS)):
                raise BackupError(f"{archive} is not a SutazAI backup (members: {', '.join(names[:6])})")
            manifest_file = tar.extractfile("manifest.json")
            if manifest_file is None:
                raise BackupError(f"{archive}: manifest.json is not a file")
            manifest = json.load(manifest_file)
            if manifest.get("format") != FORMAT:
                raise BackupError(f"{archive} has format {manifest.get('format')}; this SutazAI reads format {FORMAT}")
            for name in MEMBERS:
                member = tar.getmember(name)
                handle = tar.extractfile(member)
                if handle is None or not member.isfile():
                    raise BackupError(f"{archive}: {name} is not a file")
                digest = hashlib.file_digest(cast(io.BufferedReader, handle), "sha256").hexdigest()  # tar's reader
                expected = manifest["members"][name]
                if digest != expected["sha256"] or member.size != expected["bytes"]:
                    raise BackupError(f"{archive}: {name} does not match its checksum; the archive is damaged "
                                      "or was altered — restore from another copy")
    except (tarfile.TarError, OSError, EOFError, json.JSONDecodeError, KeyError) as exc:
        raise BackupError(f"{archive} cannot be read as a SutazAI backup: {exc}") from exc
    return dict(manifest)


# ---- restore -----------------------------------------------------------------------------
def restore(archive: Path, *, postgres: EmbeddedPostgres, redis: EmbeddedRedis, progress: Progress) -> dict[str, Any]:
    """Bring a data directory without a database to the archive's state (the servers are started
    on free ports for the restore and stopped after)."""
    progress(f"verifying {archive}")
    manifest = verify(archive)
    if (postgres.pgdata / "PG_VERSION").exists() or (postgres.root.exists() and any(postgres.root.iterdir())):
        raise BackupError(f"{postgres.root} already holds a database; restore into a new data directory "
                          "(`sutazai restore ARCHIVE --data-dir NEW`)")
    with tempfile.TemporaryDirectory(prefix="sutazai-restore-") as work:
        folder = Path(work)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(folder, members=[tar.getmember(n) for n in MEMBERS], filter="data")
        pg = dataclasses.replace(postgres, port=free_port())
        rd = dataclasses.replace(redis, port=free_port())
        progress("starting PostgreSQL for the restore")
        pg.start()
        try:
            progress("restoring PostgreSQL")
            dump = folder / "postgres.dump"
            dump.chmod(0o644)  # read by pg_restore only; the folder is ours (0700)
            env = {**os.environ}
            _run([_tool("pg_restore"), "--exit-on-error", "--single-transaction", f"--host={pg.socket_dir}",
                  f"--port={pg.port}", "--username=postgres", "--dbname=sutazai", str(dump)], env, "pg_restore")
            documents = asyncio.run(settle_restored(pg.dsn()))
            progress("starting Redis + FalkorDB for the restore")
            rd.start()
            try:
                progress("restoring the knowledge graph")
                counts = asyncio.run(_import_graph(rd.url(), folder / "graph.jsonl", documents))
            finally:
                rd.stop()
        finally:
            pg.stop()
    progress(f"restored {sum(len(d) for d in documents.values())} document(s), {counts['entities']} entities and "
             f"{counts['facts']} facts" + (f" ({counts['skipped']} facts of documents the snapshot lacks left out)"
                                          if counts["skipped"] else ""))
    return {"manifest": manifest, "graph": counts}


async def _import_graph(url: str, path: Path, documents: dict[str, set[str]]) -> dict[str, int]:
    from sutazai.knowledge.graph.falkordb_store import FalkorDBGraphStore

    store = FalkorDBGraphStore.from_url(url)
    counts = {"entities": 0, "facts": 0, "skipped": 0}
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                collection, kind = row.pop("collection"), row.pop("kind")
                if kind == "entity":
                    await store.upsert_entity(collection, Entity(**{**row, "aliases": tuple(row["aliases"])}))
                    counts["entities"] += 1
                elif row["document_id"] in documents.get(collection, set()):
                    await store.upsert_fact(collection, Fact(**row))
                    counts["facts"] += 1
                else:
                    counts["skipped"] += 1
    finally:
        await store.close()
    return counts


def describe(manifest: dict[str, Any]) -> str:
    members = manifest["members"]
    size = sum(int(m["bytes"]) for m in members.values())
    return (f"SutazAI {manifest['sutazai_version']} backup of {manifest['created_at']}: "
            f"{len(manifest['collections'])} collection(s), {manifest['graph']['entities']} entities, "
            f"{manifest['graph']['facts']} facts, {size / 1e6:,.1f} MB; every checksum matches")

