"""The calibrator a model ships with (issue 28, point 4): label answers of the pipeline as it is now,
fit a calibrator on them with the product's own procedure, and pin it in models/manifest.toml.

1. Labels: on a stack started with --model (`sutazai up`, through the HTTP API), the pipeline
   answers the enterprise suite's *tune* half (never the held-out half) and GSM8K problems from
   --gsm8k-offset on (past the first 200 that the answers bench measures). Each answer's features
   (the assessment the reasoning service made) and whether it is right (the product's scoring)
   go to models/calibrators/<model>.labels.jsonl.
2. Fit: `sutazai.metacognition.calibration.fit` (logistic or isotonic by cross-validated Brier;
   measured out of fold on every label). Reported next to it, on the same out-of-fold cases: AUC,
   Brier, ECE with 10 and 20 bins, the same for a constant predictor (the base rate) and for a
   per-suite base rate, the prior's, and the rate of confidently wrong answers (>= 0.9 and wrong).
3. Pin: models/calibrators/<model>.json (method, parameters, the labels' sha256, the metrics) and
   its sha256 in the manifest's [model.calibrator].

`--labels-only-fit` fits again from a committed labels file without running anything.
Run: .venv/bin/python bench/ship_calibrator.py --model qwen2.5-coder-1.5b --gsm8k 60
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from answers_bench import case_of  # noqa: E402
from reasoning_bench import Stack, gsm8k, ingest  # noqa: E402

from sutazai.learning import enterprise_suite  # noqa: E402
from sutazai.learning.scoring import is_right  # noqa: E402
from sutazai.lib.confidence import AnswerFeatures, prior  # noqa: E402
from sutazai.metacognition.calibration import fit  # noqa: E402
from sutazai.metacognition.reliability import brier, ece  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


def collect(model: str, gsm8k_offset: int, gsm8k_count: int, models_dir: Path | None) -> list[dict[str, Any]]:
    """Labelled answers of the pipeline on the tune half and on later GSM8K problems."""
    cases = [c for c in enterprise_suite.cases() if "tune" in c["tags"]]
    problems = gsm8k(gsm8k_offset + gsm8k_count)[gsm8k_offset:]
    cases += [{"id": f"gsm8k-{gsm8k_offset + i}", "question": p["question"],
               "answer": float(p["answer"].replace(",", "")), "tags": ["gsm8k"]} for i, p in enumerate(problems)]
    rows = []
    with tempfile.TemporaryDirectory() as home, Stack(Path(home), model=model, models_dir=models_dir) as stack, \
            stack.client() as client:
        ingest(client, enterprise_suite.DOCUMENTS, enterprise_suite.COLLECTION)
        for n, raw in enumerate(cases, 1):
            collection = enterprise_suite.COLLECTION if "enterprise" in raw["tags"] else None
            response = client.post("/api/reasoning/v1/ask", json={"question": raw["question"],
                                                                  "collection": collection})
            response.raise_for_status()
            body = response.json()
            features = (body.get("assessment") or {}).get("features")
            if features is None:  # an abstention with no answer to assess: nothing to calibrate
                continue
            correct = is_right(case_of(raw), body.get("withheld") or body["answer"], abstained=False)
            suite = "gsm8k" if "gsm8k" in raw["tags"] else "enterprise"
            rows.append({"id": raw["id"], "suite": suite, "features": features, "correct": correct})
            if n % 10 == 0:
                print(f"  {n}/{len(cases)} asked, {len(rows)} labelled", flush=True)
    return rows


def from_bench(path: Path) -> list[dict[str, Any]]:
    """Labels from the pipeline's rows of an answers_bench run over the whole enterprise suite: the
    tune half only (the held-out half is what the calibrator is then measured on)."""
    results = json.loads(path.read_text())
    tune = {c["id"] for c in enterprise_suite.cases() if "tune" in c["tags"]}
    rows = []
    for part, data in results.items():
        if not part.startswith("enterprise"):
            continue
        for row in data["rows"].get("pipeline_after", []):
            if row["id"] in tune and row.get("features") and (not row["abstained"] or "withheld_correct" in row):
                correct = row["withheld_correct"] if row["abstained"] else row["correct"]
                rows.append({"id": row["id"], "suite": "enterprise", "features": row["features"],
                             "correct": bool(correct)})
    return sorted(rows, key=lambda r: r["id"])


def measure(rows: list[dict[str, Any]], held: list[tuple[float, bool]]) -> dict[str, Any]:
    """The calibrator's out-of-fold probabilities against the baselines, on the same cases."""
    from sklearn.metrics import roc_auc_score

    labels = [int(ok) for _, ok in held]
    probabilities = [p for p, _ in held]
    base = sum(labels) / len(labels)
    rates = {s: sum(r["correct"] for r in rows if r["suite"] == s) / sum(r["suite"] == s for r in rows)
             for s in {r["suite"] for r in rows}}
    predictors = {"calibrator": probabilities, "constant": [base] * len(labels),
                  "suite_base_rate": [rates[r["suite"]] for r in rows],
                  "prior": [prior(AnswerFeatures.of(r["features"])) for r in rows]}

    def scored(ps: list[float]) -> dict[str, Any]:
        sure = [y for p, y in zip(ps, labels, strict=True) if p >= 0.9]
        return {"auc": round(float(roc_auc_score(labels, ps)), 4) if 0 < sum(labels) < len(labels) else None,
                "brier": brier(ps, labels), "ece_10": ece(ps, labels, bins=10), "ece_20": ece(ps, labels, bins=20),
                "confident_answers": len(sure), "confidently_wrong": len(sure) - sum(sure),
                "confidently_wrong_rate": round((len(sure) - sum(sure)) / len(labels), 4)}

    return {"labels": len(labels), "right": sum(labels), "base_rate": round(base, 4),
            "suite_base_rates": {k: round(v, 4) for k, v in sorted(rates.items())},
            "measured_by": "5-fold cross-fitting: each label's probability from a calibrator fitted without it",
            **{name: scored(ps) for name, ps in predictors.items()}}


def ship(model: str, labels_path: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in labels_path.read_text().splitlines() if line.strip()]
    fitted = fit([(AnswerFeatures.of(r["features"]), bool(r["correct"])) for r in rows], seed=0)
    body = {"model": model, "method": fitted.method, "params": fitted.params,
            "fitted_on": {"labels": labels_path.name, "sha256": hashlib.sha256(labels_path.read_bytes()).hexdigest(),
                          "count": len(rows), "suites": sorted({r["suite"] for r in rows})},
            "metrics": measure(rows, fitted.held_out), "cross_validated_brier": fitted.metrics["cross_validated_brier"]}
    out = labels_path.with_name(f"{model}.json")
    out.write_text(json.dumps(body, indent=1) + "\n")
    pin(model, f"calibrators/{out.name}", hashlib.sha256(out.read_bytes()).hexdigest())
    return body


def pin(model: str, file: str, digest: str) -> None:
    """Write (or replace) the model's [model.calibrator] table in the manifest."""
    path = MODELS / "manifest.toml"
    text = path.read_text()
    blocks = re.split(r"(?m)^(?=\[\[model\]\])", text)
    for i, block in enumerate(blocks):
        if re.search(rf'(?m)^name = "{re.escape(model)}"$', block):
            block = re.sub(r"\n\[model\.calibrator\]\n(?:[^\[\n].*\n?)*", "\n", block).rstrip() + "\n"
            blocks[i] = block + f'\n[model.calibrator]\nfile = "{file}"\nsha256 = "{digest}"\n\n'
    path.write_text("".join(blocks).rstrip() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--gsm8k", type=int, default=60, help="how many GSM8K problems to label")
    parser.add_argument("--gsm8k-offset", type=int, default=200, help="the first GSM8K problem labelled")
    parser.add_argument("--labels-only-fit", action="store_true", help="fit from the committed labels file only")
    parser.add_argument("--from-bench", type=Path, help="take the labels from an answers_bench results file (its "
                        "enterprise run over all cases): the pipeline's answers to the tune half only")
    args = parser.parse_args()
    labels = MODELS / "calibrators" / f"{args.model}.labels.jsonl"
    if args.from_bench:
        rows = from_bench(args.from_bench)
        labels.parent.mkdir(exist_ok=True)
        labels.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    elif not args.labels_only_fit:
        rows = collect(args.model, args.gsm8k_offset, args.gsm8k, args.models_dir)
        labels.parent.mkdir(exist_ok=True)
        labels.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    body = ship(args.model, labels)
    print(json.dumps({k: v for k, v in body.items() if k != "params"}, indent=1))


if __name__ == "__main__":
    main()
