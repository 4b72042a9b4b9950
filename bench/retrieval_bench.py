"""Does the retrieval proposal find a better depth and fusion weights, and does it help answers?
Measured through the product (`sutazai up`, the built-in suites, the metacognition service).

1. Install the document-grounded suites (companies, squad-shifts) and wait until indexed.
2. `POST /api/metacognition/v1/proposals/retrieval`: tuned on half of the questions by answer
   recall (a passage holds the reference answer), measured on the other half through the real
   search, offered only when the held-out interval of the utility difference excludes zero.
   Repeated for several seeds (other halves), so one lucky split is not the story.
3. When offered (seed 0): the held-out questions of squad-shifts become a suite, answered by the
   pipeline under the settings in force, the proposal approved and applied, answered again,
   compared case by case (paired), and the earlier settings version restored.

    .venv/bin/python bench/retrieval_bench.py --models-dir /tmp/models --answer-model qwen2.5-coder-1.5b
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

from feedback_bench import wait_indexed  # noqa: E402
from learning_bench import paired, run  # noqa: E402
from reasoning_bench import Stack  # noqa: E402

from sutazai.metacognition.retrieval_tuning import cases_of, split  # noqa: E402

API = "/api/metacognition/v1"


def propose(client: Any, suites: list[str], seed: int) -> dict[str, Any]:
    made = client.post(f"{API}/proposals/retrieval", json={"suites": suites, "seed": seed})
    body = made.json()
    if made.status_code == 201:
        return {"offered": True, "proposal_id": body["id"], "evidence": body["evidence"]}
    if made.status_code == 422 and "evidence" in body:
        return {"offered": False, "why": body["detail"], "evidence": body["evidence"]}
    raise RuntimeError(f"retrieval proposal failed: {made.status_code} {made.text}")


def line(seed: int, result: dict[str, Any]) -> str:
    e = result["evidence"]
    now, then = e["current"], e["proposed"]
    return (f"seed {seed}: {'offered' if result['offered'] else 'not offered'}; proposed depth {then['depth']} "
            f"w {then['weights']['keyword']:g}/{then['weights']['vector']:g} recall {then['recall']:.3f} vs in force "
            f"depth {now['depth']} recall {now['recall']:.3f}; utility diff {e['utility_difference']:+.3f} "
            f"{e['utility_difference_ci']} over {e['held_out_cases']} held-out")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--answer-model", default=None, help="the model that answers in step 3 (default: the stack's)")
    parser.add_argument("--suites", nargs="+", default=["companies", "squad-shifts"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--answer-limit", type=int, default=40, help="held-out squad questions answered in step 3 "
                        "(0: skip answering)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "retrieval.json")
    args = parser.parse_args()
    result: dict[str, Any] = {"suites": args.suites}
    with tempfile.TemporaryDirectory(prefix="sutazai-retrieval-") as home, \
            Stack(Path(home), model=args.answer_model, models_dir=args.models_dir) as stack, \
            stack.client() as client:
        stack.run("eval", "install", *args.suites, "--key", stack.key)
        grounded = {"companies": "eval-companies", "squad-shifts": "eval-squad", "multistep": "eval-multistep"}
        wait_indexed(client, tuple(grounded[s] for s in args.suites if s in grounded))
        result["in_force"] = client.get("/api/reasoning/v1/retrieval").json()
        result["seeds"] = {}
        for seed in range(args.seeds):
            result["seeds"][seed] = propose(client, args.suites, seed)
            print(line(seed, result["seeds"][seed]), file=sys.stderr)
        first = result["seeds"][0]
        if first["offered"] and args.answer_limit and "squad-shifts" in args.suites:
            suite = client.get("/api/learning/v1/suites/squad-shifts").json()
            _, held = split(cases_of(suite), 0)
            held_ids = {c.case_id for c in held}
            items = [i for i in suite["items"] if i["id"] in held_ids][:args.answer_limit]
            body = "".join(json.dumps(i) + "\n" for i in items).encode()
            made = client.post("/api/learning/v1/suites/squad-heldout", content=body,
                               headers={"Content-Type": "application/x-ndjson"})
            made.raise_for_status()
            before_version = client.get(f"{API}/settings").json()
            base = client.post(f"{API}/proposals", json={
                "kind": "retrieval", "change": {"retrieval": {k: result["in_force"][k] for k in ("depth", "weights")}},
                "rationale": "retrieval bench: the settings in force, kept as a version to restore"})
            base.raise_for_status()
            kept = client.post(f"{API}/proposals/{base.json()['id']}/approve", json={"note": "baseline"}).json()
            a = run(client, {"suite": "squad-heldout", "label": "held-out squad, retrieval in force"})
            approved = client.post(f"{API}/proposals/{first['proposal_id']}/approve",
                                   json={"note": "retrieval bench: held-out recall"}).json()
            b = run(client, {"suite": "squad-heldout", "label": "held-out squad, proposed retrieval"})
            restored = client.post(f"{API}/settings/versions/{kept['applied_version']}/restore",
                                   json={"note": "retrieval bench: roll back"}).json()
            result["loop"] = {
                "settings_before": before_version["version"], "baseline_version": kept["applied_version"],
                "applied": {k: approved[k] for k in ("status", "applied_version")},
                "restored_as": restored["version"],
                "retrieval_after_restore": client.get("/api/reasoning/v1/retrieval").json(),
                "cases": len(items), "in_force": a["summary"], "proposed": b["summary"], "paired": paired(a, b)}
            print(f"answers: in force {a['summary']['accuracy']:.3f} -> proposed {b['summary']['accuracy']:.3f}; "
                  f"{result['loop']['paired']}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
