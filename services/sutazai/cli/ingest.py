"""`sutazai ingest PATH...`: upload files and folders, then follow both stages of every
document with progress bars: indexing (after which it answers searches) and the graph
(chunks the model has read for entities and relations)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from sutazai.cli.client import CliError, call, problem_of
from sutazai.lib.contracts.knowledge import MEDIA_TYPES
from sutazai.lib.contracts.knowledge import PREFIX as KNOWLEDGE

SUPPORTED = set(MEDIA_TYPES)


@dataclass
class Outcome:
    path: Path
    state: str  # done, duplicate, failed, skipped
    detail: str = ""
    job_id: str | None = None
    document_id: str | None = None
    percent: float = 0.0
    graph: str = "off"  # the graph stage: off, pending, extracting, done, failed
    chunks_read: int = 0
    chunks: int = 0


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.state == "failed"]


def collect(paths: list[Path]) -> tuple[list[tuple[Path, str]], list[Outcome]]:
    """Files to upload with their source names (relative to the folder given), and skips."""
    files: list[tuple[Path, str]] = []
    skipped: list[Outcome] = []
    for given in paths:
        if not given.exists():
            raise CliError(f"{given} does not exist")
        if given.is_file():
            files.append((given, given.name))
            continue
        for path in sorted(p for p in given.rglob("*") if p.is_file()):
            if path.suffix.lower() in SUPPORTED and not any(part.startswith(".") for part in path.parts):
                files.append((path, str(path.relative_to(given.parent))))
            elif not any(part.startswith(".") for part in path.relative_to(given).parts):
                skipped.append(Outcome(path, "skipped", f"unsupported type {path.suffix or '(none)'}"))
    return files, skipped


def ingest(client: httpx.Client, paths: list[Path], *, collection: str | None, tags: list[str],
           console: Console, poll_seconds: float = 0.5, timeout: float = 3600, graph: bool = True) -> Report:
    """Upload, then wait until every document is searchable and (`graph`) until the graph has read
    it too; without `graph` the extraction goes on in the service after the CLI returns."""
    files, skipped = collect(paths)
    report = Report(outcomes=list(skipped))
    if not files:
        return report
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        upload = progress.add_task("uploading", total=len(files), status="")
        pending = [_upload(client, path, source, collection, tags, progress, upload) for path, source in files]
        work = progress.add_task("indexing", total=len(files) * 100, status="")
        _follow(client, pending, progress, work, poll_seconds, timeout)
        if graph:
            reading = progress.add_task("graph", total=None, status="")
            _follow_graph(client, pending, progress, reading, poll_seconds, timeout)
    report.outcomes.extend(pending)
    return report


def _upload(client: httpx.Client, path: Path, source: str, collection: str | None, tags: list[str],
            progress: Progress, task: TaskID) -> Outcome:
    data = {"source": source, "tags": ",".join(tags)}
    if collection:
        data["collection"] = collection
    with path.open("rb") as handle:
        response = call(client, "POST", f"{KNOWLEDGE}/documents",
                        files={"file": (path.name, handle)}, data=data)
    progress.update(task, advance=1, status=path.name)
    if response.status_code == 401:
        raise CliError(f"the API key was refused: {problem_of(response)}")
    if response.status_code not in (200, 202):
        return Outcome(path, "failed", problem_of(response), percent=100)
    body = response.json()
    if body["duplicate"]:
        return Outcome(path, "duplicate", "same content already ingested", None, body["document"]["id"], 100)
    return Outcome(path, "queued", "", body["job"]["id"], body["document"]["id"])


def _follow(client: httpx.Client, outcomes: list[Outcome], progress: Progress, task: TaskID,
            poll_seconds: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        open_jobs = [o for o in outcomes if o.state == "queued"]
        for outcome in open_jobs:
            response = call(client, "GET", f"{KNOWLEDGE}/jobs/{outcome.job_id}")
            if response.status_code in (429, 502, 503, 504):
                continue  # busy or restarting: asked again at the next poll
            if response.status_code != 200:  # refused or gone: say so for this file, go on with the others
                outcome.state, outcome.detail = "failed", f"its job could not be followed: {problem_of(response)}"
                continue
            job = response.json()
            outcome.percent = float(job.get("percent", 0))
            if job["state"] == "done":
                outcome.state, outcome.percent = "done", 100
            elif job["state"] == "failed":
                outcome.state, outcome.detail, outcome.percent = "failed", job.get("error") or "failed", 100
        done = sum(o.percent for o in outcomes)
        running = [o.path.name for o in outcomes if o.state == "queued"]
        progress.update(task, completed=done, status=(running[0] if running else _finished(outcomes)))
        if not running:
            return
        if time.monotonic() > deadline:
            for outcome in outcomes:
                if outcome.state == "queued":
                    outcome.state, outcome.detail = "failed", "still running when the CLI stopped waiting"
            return
        time.sleep(poll_seconds)


def _finished(outcomes: list[Outcome]) -> str:
    """What the bar says at the end: finished only when nothing failed."""
    failed = sum(o.state == "failed" for o in outcomes)
    return f"[red]{failed} of {len(outcomes)} failed[/red]" if failed else "finished"


def _follow_graph(client: httpx.Client, outcomes: list[Outcome], progress: Progress, task: TaskID,
                  poll_seconds: float, timeout: float) -> None:
    """Chunks read by the graph stage over all searchable documents, until each has settled."""
    deadline = time.monotonic() + timeout
    indexed = [o for o in outcomes if o.state == "done" and o.document_id]
    while True:
        for outcome in indexed:
            if outcome.graph in ("done", "failed", "off") and outcome.chunks:
                continue
            response = call(client, "GET", f"{KNOWLEDGE}/documents/{outcome.document_id}")
            if response.status_code != 200:
                if response.status_code not in (429, 502, 503, 504):
                    outcome.graph, outcome.detail = "failed", f"its graph stage could not be followed: " \
                                                              f"{problem_of(response)}"
                continue
            stage = response.json().get("graph") or {}
            outcome.graph = stage.get("state", "off")
            outcome.chunks_read, outcome.chunks = int(stage.get("chunks_read", 0)), int(stage.get("chunks", 0))
            if outcome.graph == "failed":
                outcome.detail = stage.get("error") or "graph extraction failed"
        reading = [o.path.name for o in indexed if o.graph in ("pending", "extracting")]
        progress.update(task, total=sum(o.chunks for o in indexed) or None,
                        completed=sum(o.chunks_read for o in indexed),
                        status=(f"reading {reading[0]}" if reading else "finished"))
        if not reading:
            return
        if time.monotonic() > deadline:
            return  # the service goes on reading; the summary says where it stood
        time.sleep(poll_seconds)


def summary(report: Report) -> Table:
    table = Table(title="Ingestion", title_justify="left")
    for column in ("file", "result", "graph", "detail"):
        table.add_column(column)
    colour = {"done": "green", "duplicate": "cyan", "failed": "red", "skipped": "yellow"}
    for outcome in report.outcomes:
        result = "searchable" if outcome.state == "done" else outcome.state
        table.add_row(str(outcome.path), f"[{colour.get(outcome.state, 'white')}]{result}[/]",
                      _graph_cell(outcome), outcome.detail)
    return table


def _graph_cell(outcome: Outcome) -> str:
    if outcome.state != "done":
        return ""
    if outcome.graph == "done":
        return f"[green]read[/] ({outcome.chunks} chunks)"
    if outcome.graph == "failed":
        return "[red]failed[/]"
    if outcome.graph in ("pending", "extracting"):
        return f"[yellow]reading[/] {outcome.chunks_read}/{outcome.chunks or '?'} (continues in the service)"
    return "off"
