"""Answers people can trust (issue 28), measured on one stack as a user starts it (`sutazai up` with
the chosen model, everything through the HTTP API), paired on the same cases:

- the bare model (`/v1/chat/completions` with the model's own name: no documents, no tools; up to
  --max-tokens tokens, finish reasons recorded; a chain of thought is scored on its conclusion),
- naive RAG (the top 5 passages of the collection's search put before the question, the model
  asked to answer in the question's own form or say the documents do not state it),
- the pipeline (`/api/reasoning/v1/ask`).

Suites: GSM8K (the first --gsm8k test problems) and the `enterprise` suite (a fictional
organisation's 12 documents; --enterprise heldout|tune|all). Every answer is scored by the
product's own rules (`sutazai.learning.scoring.is_right`: numbers within tolerance, names as whole
words of the first sentence; on unanswerable cases an abstention or "the documents do not state"
is right). Reported: accuracy with Wilson intervals, per kind; paired differences with a bootstrap
interval and McNemar's exact test; unanswerable questions answered with confidence >= 0.5; the
share right among answers given with confidence >= 0.9; whole-answer latency per kind. Raw rows
go to the results file with the command that made it.

Run: .venv/bin/python bench/answers_bench.py --model qwen2.5-coder-1.5b --gsm8k 100 --enterprise heldout
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reasoning_bench import Stack, gsm8k, ingest  # noqa: E402

from sutazai.learning import enterprise_suite  # noqa: E402
from sutazai.learning.scoring import is_right  # noqa: E402
from sutazai.learning.suites import Case  # noqa: E402
from sutazai.lib.stats import wilson  # noqa: E402

ROOT = Path(__file__).resolve().parent
BARE_SYSTEM = ("Answer the question. For a calculation, reason step by step and end with 'The answer is <number>.'; "
               "otherwise answer in one short sentence that starts with the answer.")
MATH_SYSTEM = "Solve the math word problem step by step. End with 'The answer is <number>.'"
"""The bare model's prompt on GSM8K (the one reasoning_bench has always used)."""
RAG_SYSTEM = ("Answer the question using only the passages. Start with the answer itself, in the form the question "
              "asks for (a number, a name, a date or a reason), in one short sentence. If the passages do not "
              "contain the answer, reply exactly: The documents do not state this.")


def case_of(raw: dict[str, Any]) -> Case:
    answer = raw["answer"]
    numeric = Decimal(str(answer)) if isinstance(answer, int | float) else None
    return Case(case_id=raw["id"], question=raw["question"], numeric=numeric,
                answers=list(answer) if isinstance(answer, list) else ([] if numeric is not None else [str(answer)]),
                tolerance=Decimal(str(raw.get("tolerance", 0))), collection=raw.get("collection"),
                tags=list(raw.get("tags", [])))


def ask_bare(client: httpx.Client, model: str, question: str, max_tokens: int,
             context: str = "", system: str = BARE_SYSTEM) -> dict[str, Any]:
    content = f"Passages:\n{context}\n\nQuestion: {question}" if context else question
    started = time.perf_counter()
    response = client.post("/v1/chat/completions", json={
        "model": model, "temperature": 0, "seed": 0, "max_tokens": max_tokens,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": content}]})
    response.raise_for_status()
    choice = response.json()["choices"][0]
    return {"answer": choice["message"]["content"], "abstained": False, "confidence": None,
            "finish_reason": choice.get("finish_reason"), "seconds": time.perf_counter() - started}


def ask_rag(client: httpx.Client, model: str, question: str, collection: str, max_tokens: int) -> dict[str, Any]:
    hits = client.get("/api/knowledge/v1/search", params={"q": question, "collection": collection, "k": 5})
    hits.raise_for_status()
    context = "\n\n".join(f"[{i}] {h['text']}" for i, h in enumerate(hits.json()["hits"], 1))
    return ask_bare(client, model, question, max_tokens, context=context, system=RAG_SYSTEM)


def ask_pipeline(client: httpx.Client, question: str, collection: str | None) -> dict[str, Any]:
    """The pipeline's answer as the web UI gets it (server-sent events): the time to the first
    character of the answer (a draft being written, or the answer itself) and to the whole answer."""
    started = time.perf_counter()
    first: float | None = None
    body: dict[str, Any] | None = None
    event = ""
    with client.stream("POST", "/api/reasoning/v1/ask/stream",
                       json={"question": question, "collection": collection}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("draft", "answer", "error"):
                first = first if first is not None else time.perf_counter() - started
                if event == "answer":
                    body = json.loads(line[5:])
                elif event == "error":
                    raise RuntimeError(line[5:])
    if body is None:
        raise RuntimeError("the stream ended without an answer")
    return {"answer": body["answer"], "abstained": bool(body["abstained"]), "confidence": body.get("confidence"),
            "grounding": body.get("grounding"), "strategy": ((body.get("assessment") or {}).get("features") or {})
            .get("strategy"), "seconds": time.perf_counter() - started, "first_answer_character_s": first,
            "trace_id": body["trace_id"], "features": (body.get("assessment") or {}).get("features"),
            "withheld": body.get("withheld")}


def run(cases: list[dict[str, Any]], system: str, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> list[dict]:
    rows = []
    for i, raw in enumerate(cases, 1):
        got = answer(raw)
        case = case_of(raw)
        got["correct"] = is_right(case, got["answer"], abstained=got["abstained"], bare=system == "bare")
        if got.get("withheld"):  # what a label of the answer withheld for low confidence says
            got["withheld_correct"] = is_right(case, got["withheld"])
        rows.append({"id": raw["id"], "kind": next((t for t in raw.get("tags", []) if t not in (
            "enterprise", "tune", "heldout", "unanswerable", "gsm8k", "math")), "gsm8k"),
            "unanswerable": "unanswerable" in raw.get("tags", []), "question": raw["question"],
            "expected": raw["answer"], **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in got.items()}})
        if i % 10 == 0 or i == len(cases):
            print(f"  {system}: {i}/{len(cases)}, {sum(r['correct'] for r in rows)} right", flush=True)
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    right = sum(r["correct"] for r in rows)
    seconds = sorted(r["seconds"] for r in rows)
    out: dict[str, Any] = {"n": len(rows), "right": right, "accuracy": round(right / len(rows), 3),
                           "accuracy_95ci": [round(x, 3) for x in wilson(right, len(rows))],
                           "abstained": sum(r["abstained"] for r in rows),
                           "latency_p50_s": round(statistics.median(seconds), 2),
                           "latency_mean_s": round(statistics.fmean(seconds), 2)}
    unanswerable = [r for r in rows if r["unanswerable"]]
    if unanswerable:
        confident = [r for r in unanswerable if not r["abstained"] and not r["correct"]
                     and (r["confidence"] is None or r["confidence"] >= 0.5)]
        out["unanswerable"] = len(unanswerable)
        out["unanswerable_answered_confidently"] = len(confident)
        out["unanswerable_answered_confidently_share"] = round(len(confident) / len(unanswerable), 3)
    sure = [r for r in rows if r["confidence"] is not None and r["confidence"] >= 0.9 and not r["abstained"]]
    if sure:
        out["confident_answers"] = len(sure)
        out["right_when_confidence_at_least_0_9"] = round(sum(r["correct"] for r in sure) / len(sure), 3)
        out["confidently_wrong"] = sum(not r["correct"] for r in sure)
    if any(r.get("finish_reason") for r in rows):
        out["finish_reasons"] = {k: sum(r.get("finish_reason") == k for r in rows)
                                 for k in sorted({str(r.get("finish_reason")) for r in rows})}
    kinds: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        kinds.setdefault(r["kind"], []).append(r)
    if len(kinds) > 1:
        out["by_kind"] = {k: {"n": len(v), "accuracy": round(sum(r["correct"] for r in v) / len(v), 3),
                              "latency_p50_s": round(statistics.median(r["seconds"] for r in v), 2),
                              **({"first_answer_character_p50_s": round(statistics.median(
                                  r["first_answer_character_s"] for r in v), 2)}
                                 if all(r.get("first_answer_character_s") is not None for r in v) else {})}
                          for k, v in sorted(kinds.items())}
    return out


def paired(a: list[dict[str, Any]], b: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """b minus a on the same cases: the accuracy difference, its 95% bootstrap interval, and
    McNemar's exact test on the discordant pairs."""
    from scipy.stats import binomtest

    diffs = [int(y["correct"]) - int(x["correct"]) for x, y in zip(a, b, strict=True)]
    rng = random.Random(seed)  # noqa: S311 - resampling, not secrecy
    boots = sorted(statistics.fmean(rng.choices(diffs, k=len(diffs))) for _ in range(5000))
    only_b, only_a = diffs.count(1), diffs.count(-1)
    p = binomtest(only_b, only_b + only_a, 0.5).pvalue if only_a + only_b else 1.0
    return {"difference": round(statistics.fmean(diffs), 3), "difference_95ci": [round(boots[125], 3),
                                                                                   round(boots[4875], 3)],
            "only_second_right": only_b, "only_first_right": only_a, "mcnemar_p": round(float(p), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--models-dir", type=Path, default=None, help="where models are installed")
    parser.add_argument("--gsm8k", type=int, default=100, help="how many GSM8K problems (0: none)")
    parser.add_argument("--enterprise", choices=("heldout", "tune", "all", "none"), default="heldout")
    parser.add_argument("--max-tokens", type=int, default=1024, help="the bare model's and naive RAG's token cap")
    parser.add_argument("--label", default="after", help="what pipeline this is (after, before, ...)")
    parser.add_argument("--only-pipeline", action="store_true", help="run only the pipeline (the bare model and "
                        "naive RAG do not depend on the pipeline's code: keep theirs from --out)")
    parser.add_argument("--stack-pythonpath", help="run the stack from another checkout's services/ (for the "
                        "pipeline before a change: a git worktree of that commit)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N enterprise cases (a smoke run)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "answers.json")
    parser.add_argument("--minutes", type=float, default=0, help="stop starting GSM8K problems after this long "
                        "(every finished pair is kept; a later run with the same --out resumes after them)")
    args = parser.parse_args()
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.stack_pythonpath:  # only the stack's processes import it; this script keeps its own imports
        os.environ["PYTHONPATH"] = args.stack_pythonpath
    results.update(command=" ".join(["python", *sys.argv]), machine={
        "python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count()})
    with tempfile.TemporaryDirectory() as home, Stack(Path(home), model=args.model,
                                                      models_dir=args.models_dir) as stack, stack.client() as client:
        model = next(m["id"] for m in client.get("/v1/models").json()["data"] if m["id"] != "sutazai")
        results["model"] = model
        if args.enterprise != "none":
            _enterprise(client, model, args, results)
            args.out.write_text(json.dumps(results, indent=1))
        if args.gsm8k:
            _gsm8k(client, model, args, results)
    print(f"wrote {args.out}")


def _gsm8k(client: httpx.Client, model: str, args: argparse.Namespace, results: dict[str, Any]) -> None:
    """GSM8K paired problem by problem (the bare model, then the pipeline, on the same problem) and
    written after each, so a run stopped by its deadline leaves only complete pairs and a later run
    resumes after them."""
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
    cases = [{"id": f"gsm8k-{i}", "question": p["question"], "answer": float(p["answer"].replace(",", "")),
              "tags": ["gsm8k"]} for i, p in enumerate(gsm8k(args.gsm8k))]
    part = results.setdefault("gsm8k", {"rows": {}})
    label = f"pipeline_{args.label}"
    rows = part["rows"]
    done = {r["id"] for r in rows.get(label, [])}
    for case in cases:
        if case["id"] in done:
            continue
        if deadline is not None and time.monotonic() > deadline:
            print(f"  deadline reached after {len(rows.get(label, []))} problems", flush=True)
            break
        if not args.only_pipeline:
            rows.setdefault("bare", []).extend(run([case], "bare", lambda c: ask_bare(
                client, model, c["question"], args.max_tokens, system=MATH_SYSTEM)))
        rows.setdefault(label, []).extend(run([case], "pipeline", lambda c: ask_pipeline(client, c["question"], None)))
        pipe = rows[label]
        part[label] = summary(pipe)
        if not args.only_pipeline:
            part["bare"] = summary(rows["bare"])
        bare = {r["id"]: r for r in rows.get("bare", [])}
        if len(pipe) > 1 and all(r["id"] in bare for r in pipe):  # paired on the problems both answered
            part[f"{label}_minus_bare"] = paired([bare[r["id"]] for r in pipe], pipe)
        for other in [k for k in rows if k.startswith("pipeline_") and k != label]:
            before = {r["id"]: r for r in rows[other]}
            if len(pipe) > 1 and all(r["id"] in before for r in pipe):
                part[f"{label}_minus_{other}"] = paired([before[r["id"]] for r in pipe], pipe)
        args.out.write_text(json.dumps(results, indent=1))
        print(f"  gsm8k {len(pipe)}: pipeline {part[label]['right']} right, bare "
              f"{part.get('bare', {}).get('right')} right", flush=True)
    print(json.dumps({k: v for k, v in part.items() if k != "rows"}, indent=1))


def _enterprise(client: httpx.Client, model: str, args: argparse.Namespace, results: dict[str, Any]) -> None:
    collection = enterprise_suite.COLLECTION
    ingest(client, enterprise_suite.DOCUMENTS, collection)
    cases = [c for c in enterprise_suite.cases() if args.enterprise == "all" or args.enterprise in c["tags"]]
    cases = cases[:args.limit] if args.limit else cases
    print(f"enterprise ({args.enterprise}): {len(cases)} cases")
    part = results.setdefault(f"enterprise_{args.enterprise}", {"rows": {}})
    pipe = run(cases, "pipeline", lambda c: ask_pipeline(client, c["question"], collection))
    part["rows"][f"pipeline_{args.label}"], part[f"pipeline_{args.label}"] = pipe, summary(pipe)
    if not args.only_pipeline:
        rag = run(cases, "naive_rag", lambda c: ask_rag(client, model, c["question"], collection, args.max_tokens))
        bare = run(cases, "bare", lambda c: ask_bare(client, model, c["question"], args.max_tokens))
        part["rows"].update({"bare": bare, "naive_rag": rag})
        part["bare"], part["naive_rag"] = summary(bare), summary(rag)
    rows = part["rows"]
    earlier = [k for k in rows if k.startswith("pipeline_") and k != f"pipeline_{args.label}"]
    for baseline in ("naive_rag", "bare", *earlier):
        if baseline in rows and [r["id"] for r in rows[baseline]] == [r["id"] for r in pipe]:
            part[f"pipeline_{args.label}_minus_{baseline}"] = paired(rows[baseline], pipe)
    print(json.dumps({k: v for k, v in part.items() if k != "rows"}, indent=1))


if __name__ == "__main__":
    main()
