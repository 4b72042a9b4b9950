"""Routing by evidence, end to end through the product: a platform whose "extract" steps (the
arithmetic writer and the value reader) run on the small model is measured on GSM8K with the
routes in force and with a run of its own that routes "extract" to the default model; learning
compares the two case by case and, if the evidence holds (interval above zero, within the
latency budget), hands a routes proposal to the metacognition service.

    .venv/bin/python bench/routing_bench.py --models-dir /tmp/models --out bench/results/routing.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from learning_bench import STUDENT, TEACHER, run, served_name  # noqa: E402
from reasoning_bench import Stack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, required=True)
    parser.add_argument("--problems", type=int, default=50, help="GSM8K test problems (the first N)")
    parser.add_argument("--budget", type=float, default=120.0, help="latency budget, seconds (p95)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "routing.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sutazai-routing-") as home:
        stack = Stack(Path(home), model=TEACHER, models_dir=args.models_dir)
        stack.env["SUTAZAI_EXTRA_MODELS"] = json.dumps([STUDENT])
        with stack, stack.client() as client:
            stack.run("eval", "install", "gsm8k", "--key", stack.key)
            teacher, student = served_name(client, TEACHER), served_name(client, STUDENT)
            client.put("/api/reasoning/v1/routes", json={"routes": {"extract": student}}).raise_for_status()
            now = run(client, {"suite": "gsm8k", "limit": args.problems, "label": "extract on the small model"})
            other = run(client, {"suite": "gsm8k", "limit": args.problems, "label": "extract on the default model",
                                 "routes": {"extract": teacher}})
            found = client.post("/api/learning/v1/routing/recommendations", json={
                "suite": "gsm8k", "kinds": ["extract"], "latency_budget_s": args.budget, "propose": True}).json()
            proposals = client.get("/api/metacognition/v1/proposals").json()
            compared = stack.run("eval", "compare", now["run_id"], other["run_id"], "--key", stack.key)
    report: dict[str, Any] = {
        "machine": "2 vCPU, 24 GiB, no GPU (llama.cpp, 2 threads)", "problems": args.problems,
        "budget_s": args.budget, "runs": {r["label"]: {k: v for k, v in r.items() if k != "results"}
                                          for r in (now, other)},
        "recommendation": found, "proposals": proposals, "cli_compare": compared}
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(compared)
    print(json.dumps({k: found[k] for k in ("current", "recommended", "notes")}, indent=2))
    print(f"proposal: {found['proposal'] and found['proposal']['id']}; wrote {args.out}")


if __name__ == "__main__":
    main()
