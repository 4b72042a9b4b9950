"""The figures of docs/benchmarks.md "Answers people can trust", computed from the raw rows of
the answers bench (bench/results/answers-<model>.json) and, for the pipeline before issue 28 on
GSM8K, from the committed run of that pipeline (bench/results/reasoning-<model>.json, commit
a514531): every system paired with every other on the cases both answered. Written to
bench/results/answers-summary.json.

Run: .venv/bin/python bench/answers_report.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from answers_bench import paired, summary  # noqa: E402

from sutazai.learning import enterprise_suite  # noqa: E402

ROOT = Path(__file__).resolve().parent / "results"


def _by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in rows}


KINDS = {c["id"]: c["tags"][1] for c in enterprise_suite.cases()}
"""Each case's kind (the bench's rows label unanswerable cases by a later tag)."""


def enterprise(results: dict[str, Any]) -> dict[str, Any]:
    heldout = [c["id"] for c in enterprise_suite.cases() if "heldout" in c["tags"]]
    systems: dict[str, dict[str, dict[str, Any]]] = {}
    for part in ("enterprise_heldout", "enterprise_all"):
        for name, rows in results.get(part, {}).get("rows", {}).items():
            found = {i: {**r, "kind": KINDS[i]} for i, r in _by_id(rows).items()}
            if all(i in found for i in heldout):
                systems[name] = {i: found[i] for i in heldout}
    out: dict[str, Any] = {"cases": len(heldout), "systems": {n: summary(list(r.values())) for n, r in systems.items()}}
    out["paired"] = {}
    for pipeline in [n for n in systems if n.startswith("pipeline_after")]:  # each pipeline after issue 28's work
        mine = list(systems[pipeline].values())
        out["paired"] |= {f"{pipeline}_minus_{n}": paired(list(r.values()), mine)
                          for n, r in systems.items() if n != pipeline}
    if "pipeline_after" in systems:
        out["with_the_shipped_calibrator"] = shipped_on(list(systems["pipeline_after"].values()), results.get("model"))
    return out


def shipped_on(rows: list[dict[str, Any]], served: str | None) -> dict[str, Any]:
    """The calibrator this model ships with (fitted on the tune half), applied to the held-out
    answers' recorded features, and each answer decided again at the default threshold (0.5):
    its probabilities measured against the outcomes, and what the answers would have been."""
    from sutazai.lib.confidence import AnswerFeatures
    from sutazai.lib.models.manifest import load_manifest
    from sutazai.metacognition.reliability import brier, ece
    from sutazai.metacognition.shipped import load_shipped

    found = load_shipped(load_manifest(), served or "")
    if found is None:
        return {}
    calibrator, source = found
    assessed = [r for r in rows if r.get("features")]
    probabilities = [calibrator.probability(AnswerFeatures.of(r["features"])) for r in assessed]
    right = [bool(r["withheld_correct"] if r["abstained"] else r["correct"]) if not r["unanswerable"] else False
             for r in assessed]
    given = [(p, ok, r) for p, ok, r in zip(probabilities, right, assessed, strict=True) if p >= 0.5]
    sure = [ok for p, ok, _ in given if p >= 0.9]
    decided = sum(ok for _, ok, _ in given) + sum(1 for r in rows if r["unanswerable"] and (
        not r.get("features") or calibrator.probability(AnswerFeatures.of(r["features"])) < 0.5))
    return {"source": source, "assessed": len(assessed), "brier": brier(probabilities, right),
            "ece_10": ece(probabilities, right, bins=10), "ece_20": ece(probabilities, right, bins=20),
            "answered": len(given), "right_when_answered": round(sum(ok for _, ok, _ in given) / len(given), 3)
            if given else None, "confident_answers": len(sure), "confidently_wrong": len(sure) - sum(sure),
            "unanswerable_answered_confidently": sum(1 for _, _, r in given if r["unanswerable"]),
            "accuracy_if_decided_so": round(decided / len(rows), 3)}


def gsm8k(results: dict[str, Any], before_file: Path) -> dict[str, Any]:
    part = results.get("gsm8k", {}).get("rows", {})
    if not part:
        return {}
    systems = {name: rows for name, rows in part.items()}
    if before_file.exists():  # the pipeline before issue 28, same problems, same model (committed run)
        old = json.loads(before_file.read_text())["gsm8k"]["rows"]["pipeline"]
        by_question = {r["question"]: r for r in old}
        n = len(next(iter(systems.values())))
        rows = [by_question.get(r["question"]) for r in next(iter(systems.values()))]
        if all(rows):
            systems["pipeline_before"] = [{**r, "id": f"gsm8k-{i}", "kind": "gsm8k", "unanswerable": False,
                                           "confidence": None} for i, r in enumerate(rows[:n])]  # type: ignore[misc]
    out: dict[str, Any] = {"cases": len(next(iter(systems.values()))),
                           "systems": {n: summary(r) for n, r in systems.items()}}
    out["paired"] = {}
    for pipeline in [n for n in systems if n.startswith("pipeline_after")]:
        for name, rows in systems.items():
            if name == pipeline:
                continue
            mine = {r["id"]: r for r in systems[pipeline]}
            theirs = [r for r in rows if r["id"] in mine]  # paired on the problems both answered
            out["paired"][f"{pipeline}_minus_{name}"] = {"cases": len(theirs), **paired(
                theirs, [mine[r["id"]] for r in theirs])}
    return out


def main() -> None:
    report = {}
    for path in sorted(ROOT.glob("answers-*.json")):
        if path.name == "answers-summary.json":
            continue
        results = json.loads(path.read_text())
        model = path.stem.removeprefix("answers-")
        report[model] = {"model": results.get("model"), "enterprise_heldout": enterprise(results),
                         "gsm8k": gsm8k(results, ROOT / f"reasoning-{model}.json")}
    (ROOT / "answers-summary.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
