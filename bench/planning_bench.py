"""Free-form multi-step questions that the planner's rules do not cover, answered by the same
stack twice: with plans from the rules only (SUTAZAI_MODEL_PLANNING=off, before) and with the
model planning the questions no rule fits (=on, after). Same model, corpus and questions.

The corpus is generated (fictional companies, people and cities, so no answer comes from
pre-training): a profile per company (city, founding year, staff, chief executive, the company
it acquired and when) and a page per city (country, population). Each question needs two or
three hops through it; 8 questions of each of 4 forms:

A. How many people does the company that acquired T employ?            (bridge, then read)
B. What is the population of the city where P's company is based?       (two bridges, then read)
C. How many more employees does the company that acquired T have than T? (bridge, read twice, compute)
D. How many years after it was founded did X acquire T?                 (read twice, compute)

Run: .venv/bin/python bench/planning_bench.py [--model NAME] (about 40 minutes with the 1.5B).
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

from reasoning_bench import DATA, Stack, ingest, pipeline_answer, run_all, summarize  # noqa: E402

from sutazai.learning.builtin_suites import multistep_corpus as corpus  # noqa: E402 - shared


def run(planning: str, model: str | None, models_dir: Path, docs: dict[str, str],
        questions: list[dict[str, str]]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as home:
        stack = Stack(Path(home), model=model, models_dir=models_dir)
        stack.env["SUTAZAI_MODEL_PLANNING"] = planning
        with stack, stack.client() as client:
            ingest(client, docs, "bench-chain")
            plans: list[dict[str, Any]] = []

            def ask(question: str) -> tuple[Any, bool, str]:
                response = client.post("/api/reasoning/v1/ask", json={"question": question,
                                                                      "collection": "bench-chain"})
                response.raise_for_status()
                body = response.json()
                trace = client.get(f"/api/reasoning/v1/traces/{body['trace_id']}").json()
                plan = trace.get("plan") or {}
                plans.append({"strategy": plan.get("strategy"), "notes": plan.get("notes"),
                              "tools": [s.get("tool") for s in plan.get("steps", [])]})
                return pipeline_answer(body), bool(body["abstained"]), body["answer"]

            rows = run_all(questions, ask, f"planning={planning}")
            for row, item, plan in zip(rows, questions, plans, strict=True):
                row.update(form=item["form"], plan=plan)
            return rows


def by_form(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {f: f"{sum(r['correct'] for r in rows if r['form'] == f)}/{sum(r['form'] == f for r in rows)}"
            for f in "ABCD"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a model from `sutazai models list` (default: make up's default)")
    parser.add_argument("--models-dir", type=Path, default=DATA / "models")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions of each form (0: all 8)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "planning.json")
    args = parser.parse_args()
    docs, questions = corpus()
    if args.limit:
        questions = [q for f in "ABCD" for q in [x for x in questions if x["form"] == f][:args.limit]]
    print(f"{len(questions)} questions over {len(docs)} documents")
    results: dict[str, Any] = {"model": args.model or "default", "questions": len(questions)}
    for planning in ("off", "on"):
        rows = run(planning, args.model, args.models_dir, docs, questions)
        results[planning] = {**summarize(rows), "by_form": by_form(rows), "rows": rows}
        print(json.dumps({k: v for k, v in results[planning].items() if k != "rows"}))
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
