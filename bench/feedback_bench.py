"""Does feedback change answers? Measured through the product as a user drives it (`sutazai up`,
`sutazai eval install`, evaluation runs, corrections over the HTTP API), on held-out cases.

1. Install the built-in `multistep` suite (chained questions over generated companies), its
   paraphrases (`multistep-paraphrases`, the same questions in other words, never corrected)
   and `companies` (another collection: the unrelated suite).
2. Split the multistep cases (fixed seed) into a corrected half and an uncorrected half.
3. Before: evaluation runs of the paraphrases and of companies.
4. Feedback, as an admin of the collection would give it: ask each question of the corrected
   half; a wrong answer is corrected with the right one, a right one is rated up.
5. After: the same runs again. Compare each pair case by case (paired bootstrap 95% interval of
   the difference, exact McNemar), on the paraphrases of the corrected half (should rise), on the
   paraphrases of the uncorrected half and on companies (should not fall).

    .venv/bin/python bench/feedback_bench.py --model qwen2.5-coder-1.5b --out bench/results/feedback.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from reasoning_bench import Stack  # noqa: E402

from sutazai.learning.builtin_suites import multistep  # noqa: E402
from sutazai.learning.scoring import Outcome, compare, is_right, summary  # noqa: E402
from sutazai.learning.suites import parse  # noqa: E402

RUNS = "/api/learning/v1/runs"


def run_suite(client: httpx.Client, suite: str, label: str, limit: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"suite": suite, "label": label} | ({"limit": limit} if limit else {})
    started = client.post(RUNS, json=body)
    started.raise_for_status()
    run_id = started.json()["run_id"]
    clock = time.monotonic()
    while (run := client.get(f"{RUNS}/{run_id}").json())["status"] in ("queued", "running"):
        print(f"\r  {label}: {run['finished']}/{run['total']} ({time.monotonic() - clock:.0f} s)", end="",
              file=sys.stderr, flush=True)
        time.sleep(3)
    print(f"\r  {label}: {run['status']}, accuracy {run['summary']['accuracy']:.3f} "
          f"({time.monotonic() - clock:.0f} s)", file=sys.stderr)
    run["results"] = client.get(f"{RUNS}/{run_id}/results").json()
    return run


def outcomes(run: dict[str, Any], keep: set[str] | None = None) -> list[Outcome]:
    return [Outcome(r["case_id"], r["correct"], r["abstained"], r["latency_s"]) for r in run["results"]
            if keep is None or r["case_id"] in keep]


def wait_indexed(client: httpx.Client, collections: tuple[str, ...], timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    for collection in collections:
        while True:
            docs = client.get("/api/knowledge/v1/documents", params={"collection": collection, "limit": 500}).json()
            items = docs["items"] if isinstance(docs, dict) else docs
            if items and all(d["status"] == "ready" for d in items):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"collection {collection} was not indexed in time")
            time.sleep(2)


def give_feedback(client: httpx.Client, cases: list[dict[str, Any]]) -> dict[str, int]:
    """Ask each question; correct a wrong answer with the right one, rate a right one up."""
    counts = {"corrected": 0, "rated_up": 0, "refused": 0}
    parsed = parse("".join(json.dumps(c) + "\n" for c in cases), "jsonl")
    for raw, case in zip(cases, parsed, strict=True):
        asked = client.post("/api/reasoning/v1/ask", json={"question": case.question, "collection": case.collection})
        asked.raise_for_status()
        body = asked.json()
        if is_right(case, body["answer"], abstained=body["abstained"]):
            done = client.post("/api/learning/v1/feedback", json={"trace_id": body["trace_id"], "rating": "up"})
            counts["rated_up" if done.status_code in (200, 201) else "refused"] += 1
        else:
            done = client.post("/api/learning/v1/corrections", json={
                "trace_id": body["trace_id"], "answer": f"{int(raw['answer']):,}" if isinstance(raw["answer"], int)
                else str(raw["answer"])})
            counts["corrected" if done.status_code == 201 else "refused"] += 1
        print(f"\r  feedback: {sum(counts.values())}/{len(cases)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return counts


def rescore(source: Path, out: Path) -> None:
    """The same stored answers, scored again by the current `is_right` (e.g. after a scoring fix)."""
    from sutazai.learning.builtin_suites import companies, multistep_paraphrases  # noqa: PLC0415
    from sutazai.learning.scoring import is_right  # noqa: PLC0415

    report = json.loads(source.read_text())
    cases = {c.case_id: c for built in (multistep_paraphrases(), companies())
             for c in parse("".join(json.dumps(x) + "\n" for x in built.cases), "jsonl")}
    changed = 0
    for rows in report["results"].values():
        for r in rows:
            right = is_right(cases[r["case_id"]], r["answer"], abstained=r["abstained"])
            changed += right != r["correct"]
            r["correct"] = right
    before = {s: {"results": report["results"][f"{s} before"]} for s in ("multistep-paraphrases", "companies")}
    after = {s: {"results": report["results"][f"{s} after"]} for s in ("multistep-paraphrases", "companies")}
    para = {f"multistep-para-{c.rsplit('-', 1)[1]}": c for c in report["corrected_cases"]}
    every = {r["case_id"] for r in report["results"]["multistep-paraphrases before"]}

    def measured(suite: str, keep: set[str] | None) -> dict[str, Any]:
        a, b = outcomes(before[suite], keep), outcomes(after[suite], keep)
        return {"before": summary(a), "after": summary(b), "comparison": compare(a, b)}

    report |= {"rescored_from": str(source), "rescored_changes": changed,
               "paraphrases_of_corrected": measured("multistep-paraphrases", set(para)),
               "paraphrases_of_uncorrected": measured("multistep-paraphrases", every - set(para)),
               "unrelated_companies": measured("companies", None)}
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"{changed} answers scored differently")
    for name in ("paraphrases_of_corrected", "paraphrases_of_uncorrected", "unrelated_companies"):
        m = report[name]
        c = m["comparison"]
        print(f"{name}: {m['before']['accuracy']:.3f} -> {m['after']['accuracy']:.3f}, difference "
              f"{c['difference']:+.3f} [{c['difference_ci'][0]:+.3f}, {c['difference_ci'][1]:+.3f}], "
              f"McNemar p {c['mcnemar_p']:.3g} ({c['cases']} cases)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b", help="the model `sutazai up` runs")
    parser.add_argument("--models-dir", type=Path, default=None, help="where the model file is installed")
    parser.add_argument("--seed", type=int, default=13, help="which half of the cases is corrected")
    parser.add_argument("--limit", type=int, default=None, help="only the first N cases of each suite")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "feedback.json")
    parser.add_argument("--rescore", type=Path, default=None, help="score the answers stored in an earlier report "
                        "again with the current scoring code (no stack is started) and write --out")
    args = parser.parse_args()
    if args.rescore is not None:
        rescore(args.rescore, args.out)
        return

    cases = multistep().cases[:args.limit] if args.limit else multistep().cases
    rng = random.Random(args.seed)  # noqa: S311 - a reproducible split, not secrecy
    corrected = set(rng.sample([c["id"] for c in cases], len(cases) // 2))
    para = {f"multistep-para-{c['id'].rsplit('-', 1)[1]}": c["id"] for c in cases}
    para_corrected = {p for p, original in para.items() if original in corrected}
    para_other = set(para) - para_corrected
    with tempfile.TemporaryDirectory(prefix="sutazai-feedback-") as home, \
            Stack(Path(home), model=args.model, models_dir=args.models_dir) as stack, stack.client() as client:
        stack.run("eval", "install", "multistep", "multistep-paraphrases", "companies", "--key", stack.key)
        wait_indexed(client, ("eval-multistep", "eval-companies"))
        before = {s: run_suite(client, s, f"{s} before", args.limit) for s in ("multistep-paraphrases", "companies")}
        counts = give_feedback(client, [c for c in cases if c["id"] in corrected])
        after = {s: run_suite(client, s, f"{s} after", args.limit) for s in ("multistep-paraphrases", "companies")}
        exemplars = client.get("/api/learning/v1/exemplars").json()

    def measured(suite: str, keep: set[str] | None) -> dict[str, Any]:
        a, b = outcomes(before[suite], keep), outcomes(after[suite], keep)
        return {"before": summary(a), "after": summary(b), "comparison": compare(a, b)}

    report = {
        "machine": "2 vCPU, 24 GiB, no GPU (llama.cpp, 2 threads)", "model": args.model, "seed": args.seed,
        "corrected_cases": sorted(corrected), "feedback": counts, "exemplars": len(exemplars),
        "paraphrases_of_corrected": measured("multistep-paraphrases", para_corrected),
        "paraphrases_of_uncorrected": measured("multistep-paraphrases", para_other),
        "unrelated_companies": measured("companies", None),
        "runs": {f"{s} {when}": {k: v for k, v in r.items() if k != "results"}
                 for when, runs in (("before", before), ("after", after)) for s, r in runs.items()},
        "results": {f"{s} {when}": r["results"] for when, runs in (("before", before), ("after", after))
                    for s, r in runs.items()},
    }
    args.out.write_text(json.dumps(report, indent=2, default=str))
    for name in ("paraphrases_of_corrected", "paraphrases_of_uncorrected", "unrelated_companies"):
        m = report[name]
        c = m["comparison"]
        print(f"{name}: {m['before']['accuracy']:.3f} -> {m['after']['accuracy']:.3f}, difference "
              f"{c['difference']:+.3f} [{c['difference_ci'][0]:+.3f}, {c['difference_ci'][1]:+.3f}], "
              f"McNemar p {c['mcnemar_p']:.3g} ({c['cases']} cases)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
