"""Calibration measured on labels exported from one or more stacks (`sutazai meta labels --out
X.jsonl`, or the `.labels.jsonl` the calibration bench writes), pooled: the product's own fitting
procedure (`sutazai.metacognition.calibration.fit`: 5-fold cross-fitting, the method chosen inside
each fold) gives every label a probability from a calibrator fitted without it; the ECE and Brier
score of those are reported with bootstrap 95% intervals, next to the prior's on the same cases,
the ECE a perfectly calibrated model would show on this many cases, and per suite.

Labels from different models or pipeline versions should not be pooled: the script refuses files
whose labels name different models unless --mixed is given.

    .venv/bin/python bench/calibration_pool.py bench/results/calibration-qwen05.labels.jsonl \\
        --out bench/results/calibration-qwen05-pooled.json

With --apply-to LATER.jsonl, the calibrator fitted on all the given labels (the one the service
would put in use) is also applied to labels it never saw (another stack, later cases) and
measured there, next to the prior and the ECE chance alone gives at that size.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from calibration_bench import bootstrap  # noqa: E402

from sutazai.cli.plots import calibration_plots  # noqa: E402
from sutazai.lib.confidence import AnswerFeatures, prior  # noqa: E402
from sutazai.metacognition.calibration import Calibrator, by_group, ece_floor, fit  # noqa: E402
from sutazai.metacognition.reliability import brier, ece, report  # noqa: E402


def load(paths: list[Path]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for path in paths:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                row["features"], row["correct"]  # noqa: B018 - both must be there
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise SystemExit(f"{path}:{n}: not a label line ({exc}); export with `sutazai meta labels`") from exc
            rows[row.get("trace_id") or f"{path}:{n}"] = row  # the same answer exported twice counts once
    return sorted(rows.values(), key=lambda r: str(r.get("trace_id") or ""))  # the order the service fits in


def prior_pairs(labelled: list[tuple[AnswerFeatures, bool]]) -> list[tuple[float, bool]]:
    """The documented prior's probability for each label, as the service gives it."""
    return [(round(min(1.0, max(0.0, prior(f))), 3), ok) for f, ok in labelled]


def by_suite(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Label positions per suite (feedback labels have none)."""
    suites: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        suites.setdefault(r.get("suite") or "(feedback)", []).append(i)
    return suites


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labels", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=10,
                        help="also cross-fit with seeds seed..seed+N-1 and report the spread the fold split alone "
                             "causes (the headline figures are the first seed's)")
    parser.add_argument("--mixed", action="store_true", help="pool labels of different models")
    parser.add_argument("--apply-to", type=Path, help="labels the calibrator never saw: measure it on them")
    args = parser.parse_args()
    rows = load(args.labels)
    models = sorted({"+".join(r["features"].get("models") or ["?"]) for r in rows})
    if len(models) > 1 and not args.mixed:
        raise SystemExit(f"these labels come from different models ({', '.join(models)}); pass --mixed to pool them")
    labelled = [(AnswerFeatures.of(r["features"]), bool(r["correct"])) for r in rows]
    fitted = fit(labelled, seed=args.seed)
    held = fitted.held_out
    baseline = prior_pairs(labelled)
    suites = by_suite(rows)

    def measured(pairs: list[tuple[float, bool]]) -> dict[str, Any]:
        probs, labels = [p for p, _ in pairs], [int(y) for _, y in pairs]
        return {"cases": len(pairs), "accuracy": round(sum(labels) / len(labels), 4), "ece": ece(probs, labels),
                "brier": brier(probs, labels), **bootstrap(pairs)}

    groups = by_group(held, [r.get("suite") or "(feedback)" for r in rows], seed=args.seed)
    splits = [fit(labelled, seed=args.seed + k).metrics["held_out_metrics"]["ece"] for k in range(args.repeats)]
    out = {
        "labels_files": [str(p) for p in args.labels], "models": models, "labels": len(rows),
        "right": sum(1 for _, ok in labelled if ok), "method_in_use": fitted.method,
        "measured_by": fitted.metrics["measured_by"], "cross_validated_brier": fitted.metrics["cross_validated_brier"],
        "held_out": measured(held), "prior": measured(baseline),
        "held_out_ece_over_fold_splits": {"seeds": [args.seed, args.seed + args.repeats - 1], "ece": splits,
                                          "mean": round(sum(splits) / len(splits), 4) if splits else None},
        "ece_if_perfectly_calibrated": fitted.metrics["ece_if_perfectly_calibrated"],
        "ece_if_perfectly_calibrated_by_size": {n: ece_floor([p for p, _ in held], cases=n, seed=args.seed)
                                                for n in (32, 100, 300, 800)},
        "ece_target": fitted.metrics["ece_target"],
        "labels_to_verify_target": fitted.metrics["labels_to_verify_target"],
        "per_suite": {s: {"held_out": measured([held[i] for i in idx]), "prior": measured([baseline[i] for i in idx]),
                          "ece_if_perfectly_calibrated": groups[s]["ece_if_perfectly_calibrated"]}
                      for s, idx in sorted(suites.items())},
        "threshold_for_10pct_risk": report(held, target_risk=0.1)["threshold"],
    }
    if args.apply_to:
        out["applied"] = applied(Calibrator(version=1, method=fitted.method, params=fitted.params), args.apply_to,
                                 measured, seed=args.seed)
    args.out.write_text(json.dumps(out, indent=2))
    plots = calibration_plots({f"held out ({fitted.method}, out of fold)": report(held, target_risk=0.1),
                               "prior": report(baseline, target_risk=0.1)}, args.out.with_suffix(""), target_risk=0.1)
    h, p, floor = out["held_out"], out["prior"], out["ece_if_perfectly_calibrated"]
    print(f"{len(rows)} labels ({', '.join(models)}); {fitted.method}, out of fold: ECE {h['ece']:.3f} "
          f"{h['ece_ci']}, Brier {h['brier']:.3f} {h['brier_ci']}; prior ECE {p['ece']:.3f}, Brier {p['brier']:.3f}; "
          f"a perfectly calibrated model: ECE {floor['mean']:.3f} (95% <= {floor['p95']:.3f})")
    if splits:
        print(f"  ECE over {len(splits)} fold splits: mean {sum(splits) / len(splits):.3f}, "
              f"{min(splits):.3f} to {max(splits):.3f}")
    for s, r in out["per_suite"].items():
        print(f"  {s}: {r['held_out']['cases']} cases, accuracy {r['held_out']['accuracy']:.2f}, "
              f"ECE {r['held_out']['ece']:.3f} (prior {r['prior']['ece']:.3f}; a perfectly calibrated model "
              f"{r['ece_if_perfectly_calibrated']['mean']:.3f}, 95% <= {r['ece_if_perfectly_calibrated']['p95']:.3f})")
    if args.apply_to:
        a = out["applied"]
        print(f"  applied to {a['labels_file']}: {a['calibrator']['cases']} cases, ECE {a['calibrator']['ece']:.3f} "
              f"{a['calibrator']['ece_ci']}, Brier {a['calibrator']['brier']:.3f}; prior ECE {a['prior']['ece']:.3f}; "
              f"by chance {a['ece_if_perfectly_calibrated']['mean']:.3f} (95% <= "
              f"{a['ece_if_perfectly_calibrated']['p95']:.3f}); per suite "
              + ", ".join(f"{k} {v['cases']} ECE {v['ece']:.3f}" for k, v in a["per_suite"].items()))
    print(f"wrote {args.out} and {', '.join(str(x) for x in plots)}")


def applied(calibrator: Calibrator, path: Path, measured: Any, *, seed: int) -> dict[str, Any]:
    """The calibrator on labels it was not fitted on: ECE and Brier with intervals, the prior's on
    the same cases, the chance floor for their probabilities, and per suite."""
    rows = load([path])
    labelled = [(AnswerFeatures.of(r["features"]), bool(r["correct"])) for r in rows]
    pairs = [(calibrator.probability(f), ok) for f, ok in labelled]
    baseline = prior_pairs(labelled)
    suites = by_suite(rows)
    return {"labels_file": str(path), "calibrator": measured(pairs), "prior": measured(baseline),
            "ece_if_perfectly_calibrated": ece_floor([p for p, _ in pairs], seed=seed),
            "per_suite": {s: measured([pairs[i] for i in idx]) for s, idx in sorted(suites.items())}}


if __name__ == "__main__":
    main()
