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

meta_app = typer.Typer(no_args_is_help=True, help="Calibrated confidence: fit a calibrator, see the calibration "
                                                  "(platform admins).")
out = Console()
err = Console(stderr=True)


@meta_app.command("fit")
def fit(
    seed: Annotated[int, typer.Option(min=0, help="Which quarter of the labels is held out to measure it.")] = 0,
    key: ApiKey = None, url: Url = None, data_dir: DataDir = None,
) -> None:
    """Fit a calibrator on every labelled answer (logistic or isotonic, whichever cross-validates
    better) and use it from the next answer on; prints its held-out measurement next to the prior's."""
    with _client(url, key, data_dir) as client:
        made = _send(client, "POST", "/api/metacognition/v1/calibrators", (201,), json={"seed": seed})
    m = made["metrics"]
    held, prior = m["held_out_metrics"], m["prior_held_out_metrics"]
    out.print(f"calibrator {made['version']} ({made['method']}) fitted on {m['fitted_on']} labels, measured on "
              f"{m['held_out']} it never saw:", highlight=False)
    table = Table("", "ECE", "Brier")
    table.add_row(f"calibrator {made['version']}", f"{held['ece']:.3f}", f"{held['brier']:.3f}")
    table.add_row("prior (agreement × support)", f"{prior['ece']:.3f}", f"{prior['brier']:.3f}")
    out.print(table)
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
        report = _send(client, "GET", "/api/metacognition/v1/calibration", (200,), params=params)
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
