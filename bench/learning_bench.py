"""Evaluation runs through the product on GSM8K (the first 100 test problems, from the built-in
suite): the default pipeline against a vote across three models (does the swarm beat the
soloist?), and distillation: a small student model's pipeline before and after a teacher's worked
solutions (the default model's right answers on other GSM8K problems) became exemplars.

Every figure comes from `sutazai eval` runs on a stack started with `sutazai up` (the default
model plus the others as extra models) and is compared case by case (paired bootstrap 95%
interval, exact McNemar). Stages are written to the output file as they finish.

    .venv/bin/python bench/learning_bench.py --models-dir /tmp/models --out bench/results/learning.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from feedback_bench import outcomes  # noqa: E402
from reasoning_bench import Stack  # noqa: E402

from sutazai.learning.scoring import compare  # noqa: E402

TEACHER, STUDENT, SMALLEST = "qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"
KINDS = ("plan", "extract", "synthesize", "verify")


def served_name(client: httpx.Client, manifest_name: str) -> str:
    """The name the reasoning service serves a manifest model under (the default: its file)."""
    models = client.get("/api/learning/v1/models").json()
    return next(m["served_as"] for m in models if m["name"] == manifest_name and m["served_as"])


def run(client: httpx.Client, body: dict[str, Any], deadline: float = math.inf) -> dict[str, Any]:
    """An evaluation run, waited for; at the deadline (time.monotonic()) it is cancelled and its
    finished cases kept."""
    started = client.post("/api/learning/v1/runs", json=body)
    if started.status_code != 202:
        raise RuntimeError(f"run refused: {started.text}")
    run_id = started.json()["run_id"]
    clock = time.monotonic()
    while (found := client.get(f"/api/learning/v1/runs/{run_id}").json())["status"] in ("queued", "running"):
        print(f"\r  {body['label']}: {found['finished']}/{found['total']} ({time.monotonic() - clock:.0f} s)",
              end="", file=sys.stderr, flush=True)
        if time.monotonic() > deadline:
            client.post(f"/api/learning/v1/runs/{run_id}/cancel")  # a run that just finished answers 409
            print(f"\n  {body['label']}: deadline reached, cancelled", file=sys.stderr)
        time.sleep(3)
    s = found["summary"]
    print(f"\r  {body['label']}: {found['status']}, {found['finished']} cases, accuracy {s['accuracy']:.3f}, "
          f"coverage {s['coverage']:.3f} ({time.monotonic() - clock:.0f} s)", file=sys.stderr)
    found["results"] = client.get(f"/api/learning/v1/runs/{run_id}/results").json()
    return found


def paired(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in compare(outcomes(a), outcomes(b)).items() if k != "changed"}


def ensemble_only(suite: str, models_dir: Path, out: Path, report: dict[str, Any]) -> None:
    """The default pipeline against a vote across the three models, on one built-in suite."""
    from feedback_bench import wait_indexed  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="sutazai-ensemble-") as home:
        stack = Stack(Path(home), model=TEACHER, models_dir=models_dir)
        stack.env["SUTAZAI_EXTRA_MODELS"] = json.dumps([STUDENT, SMALLEST])
        with stack, stack.client() as client:
            stack.run("eval", "install", suite, "--key", stack.key)
            if suite in ("multistep", "companies"):
                wait_indexed(client, (f"eval-{suite}",))
            teacher, student, smallest = (served_name(client, m) for m in (TEACHER, STUDENT, SMALLEST))
            single = run(client, {"suite": suite, "label": f"pipeline {TEACHER}"})
            swarm = run(client, {"suite": suite, "label": "ensemble", "ensemble": [teacher, student, smallest]})
            report["stages"] = {"suite": suite, "single": {k: v for k, v in single.items() if k != "results"},
                                "ensemble": {k: v for k, v in swarm.items() if k != "results"}
                                | {"against_single": paired(single, swarm)}}
            report["results"] = {r["label"]: r["results"] for r in (single, swarm)}
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, required=True, help="where the three models are installed")
    parser.add_argument("--problems", type=int, default=100, help="GSM8K test problems measured (the first N)")
    parser.add_argument("--teach", type=int, default=50, help="GSM8K problems the teacher solves (after those)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "learning.json")
    parser.add_argument("--ensemble-only-on", default=None, metavar="SUITE", help="only the soloist against the "
                        "swarm, on this built-in suite (e.g. multistep, the free-form chained questions)")
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": "2 vCPU, 24 GiB, no GPU (llama.cpp, 2 threads)", "stages": {}}
    if args.ensemble_only_on:
        ensemble_only(args.ensemble_only_on, args.models_dir, args.out, report)
        return

    def save(name: str, value: Any) -> None:
        report["stages"][name] = value
        args.out.write_text(json.dumps(report, indent=2, default=str))

    with tempfile.TemporaryDirectory(prefix="sutazai-learning-") as home:
        stack = Stack(Path(home), model=TEACHER, models_dir=args.models_dir)
        stack.env["SUTAZAI_EXTRA_MODELS"] = json.dumps([STUDENT, SMALLEST])
        with stack, stack.client() as client:
            stack.run("eval", "install", "gsm8k", "--key", stack.key)
            exported = stack.run("eval", "export", "gsm8k", "--key", stack.key)
            lines = exported.splitlines()[args.problems:args.problems + args.teach]
            taught = client.post("/api/learning/v1/suites/gsm8k-teach", content="\n".join(lines).encode(),
                                 params={"description": f"GSM8K test problems {args.problems + 1}-"
                                                        f"{args.problems + args.teach}, for the teacher"})
            taught.raise_for_status()
            teacher, student, smallest = (served_name(client, m) for m in (TEACHER, STUDENT, SMALLEST))
            everything_student = dict.fromkeys(KINDS, student)
            limit = args.problems

            single = run(client, {"suite": "gsm8k", "limit": limit, "label": f"pipeline {TEACHER}"})
            save("single", {k: v for k, v in single.items() if k != "results"})
            swarm = run(client, {"suite": "gsm8k", "limit": limit, "label": "ensemble",
                                 "ensemble": [teacher, student, smallest]})
            save("ensemble", {k: v for k, v in swarm.items() if k != "results"} | {
                "against_single": paired(single, swarm)})

            before = run(client, {"suite": "gsm8k", "limit": limit, "label": f"student {STUDENT}",
                                  "routes": everything_student})
            save("student_before", {k: v for k, v in before.items() if k != "results"})
            lesson = run(client, {"suite": "gsm8k-teach", "label": f"teacher {TEACHER}"})
            made = client.post(f"/api/learning/v1/runs/{lesson['run_id']}/exemplars").json()
            save("teacher", {k: v for k, v in lesson.items() if k != "results"} | {"exemplars": made})
            after = run(client, {"suite": "gsm8k", "limit": limit, "label": f"student {STUDENT} + teacher",
                                 "routes": everything_student})
            save("student_after", {k: v for k, v in after.items() if k != "results"} | {
                "against_before": paired(before, after)})
            report["results"] = {r["label"]: r["results"] for r in (single, swarm, before, lesson, after)}
            args.out.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
