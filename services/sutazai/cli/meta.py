"""`sutazai meta`: how far to trust the platform's answers. Fit a calibrator from the labelled
outcomes (evaluation runs and feedback), and see the calibration: ECE, Brier score, the
reliability diagram and the risk-coverage curve, written as PNG and SVG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sutazai.cli.evals import ApiKey, DataDir, Url, _client, _pct
from sutazai.cli.evals import send as _send
from sutazai.lib.contracts.metacognition import PREFIX as METACOGNITION

meta_app = typer.Typer(no_args_is_help=True, help="Calibrated confidence: fit a calibrator, see the calibration "
                                                  "(platform admins).")
out = Console()
err = Console(stderr=True)


@meta_app.command("fit")
def fit(
    seed: Annotated[int, typer.Option(min=0, help="How the labels are split into the folds it is measured on.")] = 0,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Fit a calibrator on every labelled answer (logistic or isotonic, whichever cross-validates
    better) and use it from the next answer on; prints its held-out measurement next to the prior's."""
    with _client(url, key, data_dir) as client:
        made = _send(client, "POST", f"{METACOGNITION}/calibrators", (201,), json={"seed": seed})
    m = made["metrics"]
    held, prior = m["held_out_metrics"], m["prior_held_out_metrics"]
    out.print(f"calibrator {made['version']} ({made['method']}) fitted on {m['fitted_on']} labels, measured out of "
              f"fold on {m['held_out']} (each by a calibrator fitted without it):", highlight=False)
    table = Table("", "ECE", "Brier")
    table.add_row(f"calibrator {made['version']}", f"{held['ece']:.3f}", f"{held['brier']:.3f}")
    table.add_row("prior (agreement × support)", f"{prior['ece']:.3f}", f"{prior['brier']:.3f}")
    out.print(table)
    floor = m.get("ece_if_perfectly_calibrated")
    if floor:
        needed = m.get("labels_to_verify_target")
        out.print(f"a perfectly calibrated model would measure ECE {floor['mean']:.3f} (95% of the time at most "
                  f"{floor['p95']:.3f}) on {m['held_out']} cases by chance alone; measuring ECE ≤ "
                  f"{m['ece_target']:.2f} reliably needs about {needed or 'over 25,600'} labels", highlight=False)
    groups = m.get("held_out_by_group") or {}
    if len(groups) > 1:
        per = Table("set", "cases", "accuracy", "ECE, held out", "a perfectly calibrated model, by chance", "Brier",
                    title="held out, by set")
        for name, g in groups.items():
            chance = g["ece_if_perfectly_calibrated"]
            per.add_row(name, str(g["cases"]), f"{g['accuracy']:.0%}", f"{g['ece']:.3f}",
                        f"{chance['mean']:.3f} (95%: ≤ {chance['p95']:.3f})", f"{g['brier']:.3f}")
        out.print(per)
    threshold = (m.get("held_out_report") or {}).get("threshold")
    if threshold:
        out.print(f"answering from a probability of {threshold['threshold']:.2f} keeps the risk at "
                  f"{_pct(threshold['risk'], threshold['risk_ci'])} with {threshold['coverage']:.0%} answered "
                  f"(target {threshold['target']:.0%})", highlight=False)


@meta_app.command("calibration")
def calibration(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write reliability.png/.svg and "
                                                 "risk-coverage.png/.svg here.")] = None,
    target_risk: Annotated[float | None, typer.Option(min=0.001, max=0.999, help="The share of wrong answers among "
                                                      "those given to aim for (default: the service's).")] = None,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """The calibration of the confidence: the calibrator in use on held-out labels, and the
    probabilities given live against their labels, per suite and over feedback."""
    params: dict[str, Any] = {} if target_risk is None else {"target_risk": target_risk}
    with _client(url, key, data_dir) as client:
        report = _send(client, "GET", f"{METACOGNITION}/calibration", (200,), params=params)
    active = report["active"]
    out.print(f"in use: calibrator {active['version']} ({active['method']}); answers abstain below "
              f"{report['abstain_below']:.2f}", highlight=False)
    if report.get("stale"):
        err.print(f"[yellow]{report['stale']}[/yellow]", highlight=False)
    table = Table("cases", "set", "accuracy", "ECE", "Brier", f"threshold for ≤{report['target_risk']:.0%} wrong")
    rows = ([("held out (calibrator " + str(active["version"]) + ")", active["held_out"])] if "held_out" in active
            else []) + ([("live, all", report["live"])] if report["live"] else []) + list(report["groups"].items())
    for name, r in rows:
        t = r["threshold"]
        table.add_row(str(r["cases"]), name, _pct(r["accuracy"], r["accuracy_ci"]), f"{r['ece']:.3f}",
                      f"{r['brier']:.3f}", "none reaches it" if t is None else
                      f"{t['threshold']:.2f} ({t['coverage']:.0%} answered, risk {_pct(t['risk'], t['risk_ci'])})")
    out.print(table)
    if not rows:
        out.print("no labelled answers yet: run an evaluation suite (`sutazai eval run`) or rate answers; "
                  "until then the prior gives the confidence")
        return
    if out_dir is not None:
        from sutazai.cli.plots import calibration_plots

        named = dict(rows)
        written = calibration_plots(named, out_dir, target_risk=report["target_risk"])
        out.print("wrote " + ", ".join(str(p) for p in written), highlight=False)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet takes for a formula at the start of a cell."""


def csv_cell(value: Any) -> str | float | int | bool:
    """A value as a CSV cell: lists and objects as JSON, None empty, and text a spreadsheet would
    run as a formula (features come from the assessment's caller) led by a quote, so it is shown
    as text."""
    import json

    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


@meta_app.command("labels")
def labels(
    out_file: Annotated[Path, typer.Option("--out", help="Write them here, one JSON object a line (.jsonl) or as "
                                           "CSV (.csv).")],
    source: Annotated[str | None, typer.Option(help="Only 'evaluation' or only 'feedback' labels.")] = None,
    suite: Annotated[str | None, typer.Option(help="Only this evaluation suite's labels.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many, newest first.")] = 100_000,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Export the labelled answers calibrators are fitted on: each answer's features, the
    probability it was given and whether it was right; to audit them or fit elsewhere."""
    if source not in (None, "evaluation", "feedback"):
        err.print("--source must be 'evaluation' or 'feedback'")
        raise typer.Exit(2)
    if out_file.suffix not in (".jsonl", ".csv"):
        err.print(f"--out {out_file}: name a .jsonl or a .csv file")
        raise typer.Exit(2)
    params: dict[str, Any] = {"limit": limit} | ({"source": source} if source else {}) | \
        ({"suite": suite} if suite else {})
    with _client(url, key, data_dir) as client:
        got = _send(client, "GET", f"{METACOGNITION}/labels", (200,), params=params)
    if got.get("stale"):
        err.print(f"[yellow]{got['stale']}[/yellow]", highlight=False)
    rows = got["labels"]
    out_file.parent.mkdir(parents=True, exist_ok=True)
    if out_file.suffix == ".csv":
        import csv

        names = sorted({k for r in rows for k in r["features"]})
        with out_file.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["trace_id", "source", "suite", "run_id", "probability", "calibrator", "correct",
                             "assessed_at", *names])
            for r in rows:
                writer.writerow([csv_cell(v) for v in (
                    r["trace_id"], r["source"], r["suite"], r["run_id"], r["probability"], r["calibrator"],
                    r["correct"], r["assessed_at"], *(r["features"].get(n) for n in names))])
    else:
        import json

        out_file.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    right = sum(1 for r in rows if r["correct"])
    out.print(f"wrote {len(rows)} of {got['total']} labels ({right} right, {len(rows) - right} wrong) to {out_file}",
              highlight=False)


def _uuid(text: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(text))
    except ValueError:
        from sutazai.cli.evals import _fail

        raise _fail(f"{text!r} is not a proposal id (`sutazai meta proposals` lists them)") from None


def _retrieval(r: dict[str, Any] | None) -> str:
    if not r:
        return "defaults"
    return f"depth {r['depth']}, keyword {r['weights']['keyword']:g} / vector {r['weights']['vector']:g}"


def _change(change: dict[str, Any]) -> str:
    if "abstain_below" in change:
        return f"abstain below {change['abstain_below']:.2f}"
    if "retrieval" in change:
        return f"retrieval {_retrieval(change['retrieval'])}"
    return ", ".join(f"{k} → {v}" for k, v in (change.get("routes") or {}).items())


@meta_app.command("proposals")
def proposals(
    status: Annotated[str | None, typer.Option(help="pending, approved, rejected, applied, superseded or "
                                                    "failed.")] = None,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Improvement proposals, newest first, with their evidence in one line."""
    params: dict[str, Any] = {} if status is None else {"status": status}
    with _client(url, key, data_dir) as client:
        rows = _send(client, "GET", f"{METACOGNITION}/proposals", (200,), params=params)
    if not rows:
        out.print("no proposal" + (f" is {status}" if status else " yet: `sutazai meta propose-threshold` or "
                                   "`propose-retrieval`, or "
                                   "`sutazai eval` routing recommendations with --propose"))
        return
    table = Table("id", "kind", "change", "status", "from", "why")
    for r in rows:
        table.add_row(r["id"], r["kind"], _change(r["change"]), r["status"], r["source"],
                      (r["decision_note"] or r["rationale"] or "")[:120])
    out.print(table)


@meta_app.command("propose-threshold")
def propose_threshold(
    target_risk: Annotated[float | None, typer.Option(min=0.001, max=0.999, help="The share of wrong answers among "
                                                      "those given to aim for.")] = None,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Propose the abstention threshold that reaches the target risk on the calibrator's held-out
    labels; offered only when it beats the one in force with an interval that excludes zero."""
    with _client(url, key, data_dir) as client:
        made = _send(client, "POST", f"{METACOGNITION}/proposals/threshold", (201,),
                     json={} if target_risk is None else {"target_risk": target_risk})
    out.print(f"proposal {made['id']}: {_change(made['change'])} — {made['rationale']}", highlight=False)
    out.print(f"approve with `sutazai meta approve {made['id']} --note WHY`", highlight=False)


@meta_app.command("propose-retrieval")
def propose_retrieval(
    suite: Annotated[list[str], typer.Option("--suite", help="A suite whose questions are asked of a collection "
                                             "(companies, squad-shifts, your own); repeat for several.")],
    seed: Annotated[int, typer.Option(min=0, help="Which half of the questions is held out.")] = 0,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Propose the retrieval depth and fusion weights that find the suites' reference answers best:
    tuned on half of the questions, measured on the other half through the real search, offered only
    when they beat the settings in force with an interval that excludes zero."""
    with _client(url, key, data_dir) as client, out.status("tuning retrieval on the suites' questions…"):
        made = _send(client, "POST", f"{METACOGNITION}/proposals/retrieval", (201,),
                     json={"suites": suite, "seed": seed})
    out.print(f"proposal {made['id']}: {_change(made['change'])} — {made['rationale']}", highlight=False)
    out.print(f"approve with `sutazai meta approve {made['id']} --note WHY`", highlight=False)


def _decide(verb: str, proposal: str, note: str, key: str | None, url: str | None, data_dir: Path | None) -> None:
    with _client(url, key, data_dir) as client:
        row = _send(client, "POST", f"{METACOGNITION}/proposals/{_uuid(proposal)}/{verb}", (200,),
                    json={"note": note})
    if row["status"] == "failed":
        err.print(f"[red]approved but not applied: {row['decision_note']}[/red]", highlight=False)
        raise typer.Exit(1)
    tail = f" as settings version {row['applied_version']}" if row.get("applied_version") else ""
    out.print(f"proposal {row['id']} {row['status']}{tail}", highlight=False)


@meta_app.command("approve")
def approve(
    proposal: Annotated[str, typer.Argument(help="The proposal id.")],
    note: Annotated[str, typer.Option("--note", help="Why (goes to the audit log).")],
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Approve a pending proposal: it is applied at once as a new settings version."""
    _decide("approve", proposal, note, key, url, data_dir)


@meta_app.command("reject")
def reject(
    proposal: Annotated[str, typer.Argument(help="The proposal id.")],
    note: Annotated[str, typer.Option("--note", help="Why (goes to the audit log).")],
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Reject a pending proposal."""
    _decide("reject", proposal, note, key, url, data_dir)


@meta_app.command("versions")
def versions(key: ApiKey = None, url: Url = None, data_dir: DataDir = None) -> None:
    """Every settings version, newest (in force) first."""
    with _client(url, key, data_dir) as client:
        rows = _send(client, "GET", f"{METACOGNITION}/settings/versions", (200,))
    if not rows:
        out.print("no settings version yet: the defaults are in force")
        return
    table = Table("version", "abstain below", "routes", "retrieval", "by", "why", "when")
    for r in rows:
        origin = f" (restored {r['restored_from']})" if r["restored_from"] else ""
        table.add_row(f"{r['version']}{origin}", f"{r['settings'].get('abstain_below', 0):.2f}",
                      ", ".join(f"{k}={v}" for k, v in (r["settings"].get("routes") or {}).items()),
                      _retrieval(r["settings"].get("retrieval")),
                      r["actor"], r["reason"][:80], r["created_at"][:19])
    out.print(table)


@meta_app.command("restore")
def restore(
    version: Annotated[int, typer.Argument(min=1, help="The settings version to put back in force.")],
    note: Annotated[str, typer.Option("--note", help="Why (goes to the audit log).")],
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Put an earlier settings version back in force (as a new version)."""
    with _client(url, key, data_dir) as client:
        made = _send(client, "POST", f"{METACOGNITION}/settings/versions/{version}/restore", (201,),
                     json={"note": note})
    out.print(f"settings version {version} restored as version {made['version']}", highlight=False)


@meta_app.command("alerts")
def alerts(
    status: Annotated[str | None, typer.Option(help="firing or resolved.")] = None,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """The monitors' alerts, newest first."""
    with _client(url, key, data_dir) as client:
        rows = _send(client, "GET", f"{METACOGNITION}/alerts", (200,),
                     params={} if status is None else {"status": status})
    if not rows:
        out.print("no alert" + (f" is {status}" if status else ""))
        return
    table = Table("rule", "status", "value", "threshold", "fired", "resolved")
    for r in rows:
        table.add_row(r["rule"], r["status"], f"{r['value']:.3g}", f"{r['threshold']:.3g}", r["fired_at"][:19],
                      (r["resolved_at"] or "")[:19])
    out.print(table)
