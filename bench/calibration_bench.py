"""Is the confidence calibrated? Measured through the product (`sutazai up`, evaluation runs, the
metacognition service), on evaluation cases the calibrator never saw.

1. Install built-in suites and run them through the pipeline: every answer is assessed (features
   recorded), and every case becomes a label — the answer, or the one withheld for low confidence,
   scored by code.
2. Fit a calibrator (`POST /api/metacognition/v1/calibrators`): measured out of fold on every
   label (5-fold cross-fitting), next to the documented prior on the same cases, with the ECE a
   perfectly calibrated model would show by chance on that many cases.
3. Report ECE and Brier score with bootstrap 95% intervals, the threshold for a 10% target risk,
   and whether a threshold proposal beats the threshold in force; draw the reliability diagram and
   the risk-coverage curve (PNG and SVG).

    .venv/bin/python bench/calibration_bench.py --models-dir /tmp/models --out bench/results/calibration.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from feedback_bench import wait_indexed  # noqa: E402
from learning_bench import run  # noqa: E402
from reasoning_bench import Stack  # noqa: E402

from sutazai.cli.plots import calibration_plots  # noqa: E402
from sutazai.metacognition.reliability import brier, ece  # noqa: E402


def bootstrap(pairs: list[tuple[float, bool]], resamples: int = 2000, seed: int = 0) -> dict[str, list[float]]:
    rng = random.Random(seed)  # noqa: S311 - resampling, not secrecy
    eces, briers = [], []
    for _ in range(resamples):
        sample = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        probs, labels = [p for p, _ in sample], [int(y) for _, y in sample]
        eces.append(ece(probs, labels))
        briers.append(brier(probs, labels))
    eces.sort()
    briers.sort()

    def ci(values: list[float]) -> list[float]:
        return [round(values[int(0.025 * len(values))], 4), round(values[int(0.975 * len(values)) - 1], 4)]

    return {"ece_ci": ci(eces), "brier_ci": ci(briers)}


def save_labels(client: Any, path: Path) -> int:
    """Every labelled assessment the metacognition service holds, one JSON object a line."""
    got = client.get("/api/metacognition/v1/labels", params={"limit": 100_000, "source": "evaluation"})
    got.raise_for_status()
    rows = got.json()["labels"]
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--suites", nargs="+", default=["companies", "multistep", "gsm8k"])
    parser.add_argument("--limit", type=int, default=40, help="cases per suite (the first N)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "calibration.json")
    parser.add_argument("--limits", nargs="+", type=int, default=None,
                        help="cases per suite, one number per --suites entry (overrides --limit)")
    parser.add_argument("--offsets", nargs="+", type=int, default=None,
                        help="cases to skip per suite, one number per --suites entry: a later run labels cases an "
                             "earlier one did not reach, so that their label files can be pooled")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop evaluating after this long: the run in progress is cancelled and its finished "
                             "cases count")
    parser.add_argument("--skip-loop", action="store_true",
                        help="do not propose, approve, measure and roll back a threshold (saves a second run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sutazai-calibration-") as home, \
            Stack(Path(home), model=args.model, models_dir=args.models_dir) as stack, stack.client() as client:
        stack.run("eval", "install", *args.suites, "--key", stack.key)
        wait_indexed(client, tuple(f"eval-{s}" for s in args.suites if s in ("companies", "multistep")))
        limits = dict(zip(args.suites, args.limits or [args.limit] * len(args.suites), strict=True))
        offsets = dict(zip(args.suites, args.offsets or [0] * len(args.suites), strict=True))
        deadline = time.monotonic() + 60 * args.minutes if args.minutes else math.inf
        labels_file = args.out.with_suffix(".labels.jsonl")
        runs = {}
        for s in args.suites:
            if time.monotonic() > deadline:
                break
            runs[s] = run(client, {"suite": s, "label": f"{s} for calibration", "limit": limits[s],
                                  "offset": offsets[s]}, deadline)
            print(f"  {save_labels(client, labels_file)} labels so far in {labels_file}", file=sys.stderr)
        fitted = client.post("/api/metacognition/v1/calibrators", json={"seed": 0})
        fitted.raise_for_status()
        calibrator = fitted.json()
        report = client.get("/api/metacognition/v1/calibration", params={"target_risk": 0.1, "pairs": True}).json()
        proposal = client.post("/api/metacognition/v1/proposals/threshold", json={"target_risk": 0.1})
        loop: dict[str, Any] = {"offered": proposal.status_code == 201, "skipped": args.skip_loop}
        if proposal.status_code == 201 and not args.skip_loop:  # approve, measure a new run under it, roll back
            before = client.get("/api/metacognition/v1/settings").json()
            approved = client.post(f"/api/metacognition/v1/proposals/{proposal.json()['id']}/approve",
                                   json={"note": "calibration bench: threshold for 10% risk"}).json()
            loop["approved"] = {k: approved[k] for k in ("status", "applied_version")}
            suite = args.suites[0]
            after = run(client, {"suite": suite, "label": f"{suite} under the proposed threshold",
                                 "limit": limits[suite]})
            loop["measured"] = {"suite": suite, "before": runs[suite]["summary"], "after": after["summary"],
                                "comparison": client.get("/api/learning/v1/runs/compare", params={
                                    "a": runs[suite]["run_id"], "b": after["run_id"]}).json()["comparison"]}
            if before["version"]:
                restored = client.post(f"/api/metacognition/v1/settings/versions/{before['version']}/restore",
                                       json={"note": "calibration bench: roll back"}).json()
            else:
                back = client.post("/api/metacognition/v1/proposals", json={
                    "kind": "abstain_below", "change": {"abstain_below": before["settings"]["abstain_below"]},
                    "rationale": "roll back"}).json()
                restored = client.post(f"/api/metacognition/v1/proposals/{back['id']}/approve",
                                       json={"note": "calibration bench: roll back"}).json()
            loop["rolled_back"] = client.get("/api/metacognition/v1/settings").json()
            del restored

    held = report["active"]["held_out"]
    metrics = calibrator["metrics"]
    pairs = [(float(p), bool(y)) for p, y in report["active"]["held_out_pairs"]]
    out = {
        "machine": "2 vCPU, 24 GiB, no GPU (llama.cpp, 2 threads)", "model": args.model, "suites": args.suites,
        "limits": limits, "offsets": offsets,
        "runs": {s: {k: r[k] for k in ("run_id", "label", "status", "finished", "summary")} for s, r in runs.items()},
        "labels_file": labels_file.name,
        "calibrator": {k: calibrator[k] for k in ("version", "method")},
        "labels": metrics["labels"], "fitted_on": metrics["fitted_on"], "held_out": metrics["held_out"],
        "cross_validated_brier": metrics["cross_validated_brier"], "measured_by": metrics.get("measured_by"),
        "ece_if_perfectly_calibrated": metrics.get("ece_if_perfectly_calibrated"),
        "labels_to_verify_target": metrics.get("labels_to_verify_target"),
        "held_out_metrics": metrics["held_out_metrics"], "prior_held_out_metrics": metrics["prior_held_out_metrics"],
        "held_out_intervals": bootstrap(pairs),
        "threshold_for_10pct_risk": held["threshold"],
        "threshold_proposal": {"status": proposal.status_code, "body": proposal.json()}, "loop": loop,
        "live": {k: v for k, v in (report["live"] or {}).items() if k != "risk_coverage"},
        "groups": {g: {k: r[k] for k in ("cases", "accuracy", "ece", "brier")} for g, r in report["groups"].items()},
    }
    args.out.write_text(json.dumps(out, indent=2, default=str))
    plots = calibration_plots({f"held out (calibrator {calibrator['version']})": held,
                               **({"live (as given)": report["live"]} if report["live"] else {})},
                              args.out.with_suffix(""), target_risk=0.1)
    m, p = metrics["held_out_metrics"], metrics["prior_held_out_metrics"]
    print(f"{metrics['labels']} labels; calibrator {calibrator['method']}, out of fold on {metrics['held_out']}: "
          f"ECE {m['ece']:.3f} (prior {p['ece']:.3f}; a perfectly calibrated model: "
          f"{metrics['ece_if_perfectly_calibrated']['mean']:.3f}), Brier {m['brier']:.3f} (prior {p['brier']:.3f}); "
          f"plots: {', '.join(str(x) for x in plots)}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
