"""`sutazai backup` and `sutazai restore`: one consistent, checksummed archive of an installation
(see sutazai.runtime.backup for what it holds and what it leaves out)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _say(message: str) -> None:
    out.print(f"  [green]•[/green] {message}", highlight=False)


def _installed_models(data_dir: Path) -> list[dict[str, Any]]:
    from sutazai.lib.models.installer import ModelStore, models_dir
    from sutazai.lib.models.manifest import ManifestError, load_manifest

    try:
        manifest = load_manifest()
    except ManifestError:
        return []
    store = ModelStore(models_dir(data_dir))
    return [{"name": m.name, "file": m.filename, "sha256": m.sha256} for m in manifest.model if store.installed(m)]


def register(app: typer.Typer) -> None:
    @app.command("backup")
    def backup_command(
        out_file: Annotated[Path | None, typer.Option(
            "--out", help="The archive to write \\[default: sutazai-backup-<UTC time>.tar.gz here].",
            show_default=False)] = None,
        data_dir: Annotated[Path | None, typer.Option(
            "--data-dir", envvar="SUTAZAI_DATA_DIR", show_default=False,
            help="The embedded stack to back up (it may keep serving).")] = None,
        database_url: Annotated[str | None, typer.Option(
            "--database-url", show_default=False,
            help="Back up this PostgreSQL instead of the embedded stack's (with --graph-url).")] = None,
        graph_url: Annotated[str | None, typer.Option(
            "--graph-url", show_default=False, help="The FalkorDB (redis://) holding the knowledge graph.")] = None,
    ) -> None:
        """Write one consistent, checksummed archive: PostgreSQL (documents, chunks, traces,
        feedback, keys, settings, the audit log…), the knowledge graph and the list of installed
        models. Secrets are not in it. The stack may keep serving while it runs."""
        from sutazai.knowledge.graph.falkordb_store import FalkorDBGraphStore
        from sutazai.runtime.backup import BackupError, backup
        from sutazai.runtime.stack import Stack, resolve_data_dir

        stack = Stack(resolve_data_dir(data_dir))
        if database_url or graph_url:
            if not (database_url and graph_url):
                raise _fail("--database-url and --graph-url go together")
            dsn, graph, models = database_url, graph_url, []
        else:
            state = stack.state()
            if state is None:
                raise _fail(f"no running stack in {stack.data_dir}; start it with `sutazai up`, or name the "
                            "servers with --database-url and --graph-url")
            dsn = stack.postgres(state.postgres_port).dsn()
            graph = stack.redis(state.redis_port).url()
            models = _installed_models(stack.data_dir)
        target = out_file or Path(f"sutazai-backup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz")
        try:
            manifest = backup(dsn=dsn, graph=lambda: FalkorDBGraphStore.from_url(graph), models=models,
                              out=target, progress=_say)
        except BackupError as exc:
            raise _fail(str(exc)) from None
        out.print(f"backup of {len(manifest['collections'])} collection(s), {manifest['graph']['entities']} "
                  f"entities, {manifest['graph']['facts']} facts; check it with "
                  f"[bold]sutazai restore {target} --check[/bold]", highlight=False)

    @app.command("restore")
    def restore_command(
        archive: Annotated[Path, typer.Argument(help="A `sutazai backup` archive.", exists=True, dir_okay=False)],
        data_dir: Annotated[Path | None, typer.Option(
            "--data-dir", envvar="SUTAZAI_DATA_DIR", show_default=False,
            help="A new data directory to restore into (it must hold no database).")] = None,
        check: Annotated[bool, typer.Option("--check", help="Only verify every checksum; write nothing.")] = False,
    ) -> None:
        """Verify every checksum, then bring a new data directory to the archive's state; start it
        with `sutazai up --data-dir` afterwards. New secrets are made; API keys keep working."""
        from sutazai.runtime.backup import BackupError, describe, restore, verify
        from sutazai.runtime.stack import Stack, resolve_data_dir

        try:
            if check:
                out.print(describe(verify(archive)), highlight=False)
                return
            stack = Stack(resolve_data_dir(data_dir))
            if stack.state() is not None:
                raise _fail(f"a stack is running in {stack.data_dir}; restore into a new data directory")
            for path in (stack.data_dir, stack.secrets_dir, stack.logs_dir, stack.run_dir):
                path.mkdir(mode=0o700, parents=True, exist_ok=True)
            restore(archive, postgres=stack.postgres(0), redis=stack.redis(0), progress=_say)
        except BackupError as exc:
            raise _fail(str(exc)) from None
        out.print(f"restored into {stack.data_dir}; start it with [bold]sutazai up --data-dir {stack.data_dir}"
                  "[/bold]", highlight=False)
