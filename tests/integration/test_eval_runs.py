"""Evaluation runs as worker jobs on the real stack (PostgreSQL, Redis streams, the in-process
learning worker, the reasoning pipeline on SmolLM2): a pipeline run and a bare-model run of the
same suite, their summaries and their paired comparison, cancellation that keeps finished cases,
the run's own key revoked at the end, and bad requests."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from scipy.stats import binomtest

from tests.integration.conftest import Platform, create_key

CASES = [{"id": "mul", "question": "What is 12*(3+4)?", "answer": 84},
         {"id": "add", "question": "What is 17 + 25?", "answer": 42},
         {"id": "sub", "question": "What is 100 - 58?", "answer": 42}]


def jobs_drained(platform: Platform, timeout: float = 300) -> bool:
    """Whether the learning worker has read every job of its stream and acknowledged each (no job
    waiting, none in a handler): after a cancel, the case that was in flight is then done."""
    import redis

    client = redis.Redis.from_url(platform.backends.redis.url())
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            last = client.xinfo_stream("learning.jobs")["last-generated-id"]
            group = next(g for g in client.xinfo_groups("learning.jobs") if g["name"] == b"learning-workers")
            if group["pending"] == 0 and group["last-delivered-id"] == last:
                return True
            time.sleep(0.1)
        return False
    finally:
        client.close()


def wait(client: httpx.Client, run_id: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/learning/v1/runs/{run_id}").json()
        if run["status"] in ("done", "cancelled", "failed"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(1)


def test_runs_summaries_comparison_and_cancel(platform: Platform) -> None:
    suite = f"arith-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {platform.admin_key}"},
                      timeout=120) as client:
        body = "".join(json.dumps(c) + "\n" for c in CASES).encode()
        assert client.post(f"/api/learning/v1/suites/{suite}", content=body).status_code == 201

        assert client.post("/api/learning/v1/runs", json={"suite": "no-such-suite"}).status_code == 404
        routed = client.post("/api/learning/v1/runs", json={"suite": suite, "model": "x"})
        assert routed.status_code == 422 and "mode 'bare'" in routed.json()["detail"]
        unknown = client.post("/api/learning/v1/runs", json={"suite": suite, "mode": "bare", "model": "gpt-9"})
        assert unknown.status_code == 422 and "unknown model 'gpt-9'" in unknown.json()["detail"]
        model = next(m["id"] for m in client.get("/v1/models").json()["data"] if m["id"] != "sutazai")
        for routes, message in (({"synthesize": "gpt-9"}, "unknown model 'gpt-9' for step kind 'synthesize'"),
                                ({"dream": model}, "unknown step kind 'dream'")):
            refused = client.post("/api/learning/v1/runs", json={"suite": suite, "routes": routes})
            assert refused.status_code == 422 and message in refused.json()["detail"], refused.text

        started = client.post("/api/learning/v1/runs", json={"suite": suite, "label": "pipeline"})
        assert started.status_code == 202, started.text
        assert started.json()["total"] == 3 and started.json()["status"] in ("queued", "running", "done")
        pipeline = wait(client, started.json()["run_id"])
        assert pipeline["status"] == "done" and pipeline["finished"] == 3, pipeline
        summary = pipeline["summary"]
        results = client.get(f"/api/learning/v1/runs/{pipeline['run_id']}/results").json()
        assert summary["cases"] == 3 and summary["latency_p50_s"] > 0
        assert summary["accuracy"] == pytest.approx(sum(bool(r["correct"]) for r in results) / 3, abs=1e-3), summary
        assert [r["case_id"] for r in results] == ["mul", "add", "sub"]
        assert all(r["trace_id"] for r in results if not r["error"])

        bare = wait(client, client.post("/api/learning/v1/runs", json={"suite": suite, "mode": "bare", "model": model,
                                                                       "label": "bare"}).json()["run_id"])
        assert bare["status"] == "done" and bare["config"]["model"] == model
        compared = client.get("/api/learning/v1/runs/compare", params={"a": bare["run_id"],
                                                                       "b": pipeline["run_id"]}).json()
        c = compared["comparison"]
        assert c["cases"] == 3 and c["both_right"] + c["only_a"] + c["only_b"] + c["neither"] == 3
        assert c["difference"] == (c["only_b"] - c["only_a"]) / 3
        discordant = c["only_a"] + c["only_b"]  # McNemar's exact test on the discordant pairs
        expected_p = binomtest(c["only_b"], discordant, 0.5).pvalue if discordant else 1.0
        assert c["mcnemar_p"] == pytest.approx(expected_p, abs=1e-3), c

        # each run asked with a key of its own, revoked when it ended
        keys = {k["key_id"]: k for k in client.get("/api/identity/v1/keys", params={"include_revoked": True}).json()}
        for run in (pipeline, bare):
            assert keys[run["key_id"]]["revoked_at"] is not None and keys[run["key_id"]]["role"] == "user"

        # cancelled halfway: the finished cases stay, counted in the summary; no case runs after it
        longer = f"long-{uuid.uuid4().hex[:6]}"
        many = [{"id": f"m{n}", "question": f"What is {n + 21} * {n + 7}?", "answer": (n + 21) * (n + 7)}
                for n in range(16)]
        assert client.post(f"/api/learning/v1/suites/{longer}",
                           content="".join(json.dumps(c) + "\n" for c in many).encode()).status_code == 201
        cancelled_run = client.post("/api/learning/v1/runs", json={"suite": longer,
                                                                   "routes": {"synthesize": model}}).json()
        assert cancelled_run["config"]["routes"] == {"synthesize": model}
        deadline = time.monotonic() + 300
        while client.get(f"/api/learning/v1/runs/{cancelled_run['run_id']}").json()["finished"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        cancelled = client.post(f"/api/learning/v1/runs/{cancelled_run['run_id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        drained = jobs_drained(platform)  # the worker has taken and finished every job the run queued
        assert drained, "the learning worker still holds or has not read the run's jobs after 300 s"
        after = client.get(f"/api/learning/v1/runs/{cancelled_run['run_id']}").json()
        assert after["status"] == "cancelled" and 1 <= after["finished"] < len(many), after
        assert after["finished"] <= cancelled.json()["finished"] + 1  # at most the case in flight
        assert after["summary"]["cases"] == after["finished"]
        kept = client.get(f"/api/learning/v1/runs/{cancelled_run['run_id']}/results").json()
        assert len(kept) == after["finished"] and all(r["case_id"].startswith("m") for r in kept)
        again = client.post(f"/api/learning/v1/runs/{cancelled_run['run_id']}/cancel")
        assert again.status_code == 409 and "already cancelled" in again.json()["detail"]

        # a slice: offset 1, limit 1 asks the second case only, and records it at its place in the suite
        sliced = wait(client, client.post("/api/learning/v1/runs", json={"suite": suite, "offset": 1, "limit": 1,
                                                                         "label": "slice"}).json()["run_id"])
        assert sliced["status"] == "done" and sliced["total"] == 1 and sliced["config"]["offset"] == 1
        only = client.get(f"/api/learning/v1/runs/{sliced['run_id']}/results").json()
        assert [(r["case_id"], r["position"]) for r in only] == [("add", 1)]
        past = client.post("/api/learning/v1/runs", json={"suite": suite, "offset": 3})
        assert past.status_code == 422 and "offset 3 skips every case" in past.json()["detail"]
        assert client.post("/api/learning/v1/runs", json={"suite": suite, "offset": -1}).status_code == 422

        # a suite asking in a collection that does not exist is refused before anything runs
        nowhere = f"nowhere-{uuid.uuid4().hex[:6]}"
        assert client.post(f"/api/learning/v1/suites/{nowhere}", content=json.dumps(
            {"id": "x", "question": "Who?", "answer": "me", "collection": f"absent-{nowhere}"}).encode()
        ).status_code == 201
        missing = client.post("/api/learning/v1/runs", json={"suite": nowhere})
        assert missing.status_code == 422 and f"absent-{nowhere}" in missing.json()["detail"]


SUTAZAI = str(Path(sys.executable).parent / "sutazai")


def cli(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUTAZAI_URL": platform.url, "SUTAZAI_API_KEY": platform.admin_key, "COLUMNS": "200"}
    return subprocess.run([SUTAZAI, "eval", *args], capture_output=True, text=True, env=env, timeout=900,
                          check=False)


def test_cli_runs_shows_and_compares(platform: Platform) -> None:
    suite = f"cli-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {platform.admin_key}"},
                      timeout=60) as client:
        body = "".join(json.dumps(c) + "\n" for c in CASES).encode()
        assert client.post(f"/api/learning/v1/suites/{suite}", content=body).status_code == 201
        model = next(m["id"] for m in client.get("/v1/models").json()["data"] if m["id"] != "sutazai")

    first = cli(platform, "run", suite, "--label", "rules")
    assert first.returncode == 0, first.stderr
    assert "accuracy" in first.stdout and "3 of 3 cases" in first.stdout and "latency p50 / p95" in first.stdout
    run_a = first.stderr.split("run ", 1)[1].split()[0]
    second = cli(platform, "run", suite, "--label", "routed", "--route", f"synthesize={model}", "--no-wait")
    assert second.returncode == 0, second.stderr
    run_b = second.stdout.strip()
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {platform.admin_key}"},
                      timeout=60) as client:
        assert wait(client, run_b)["status"] == "done"

    sliced = cli(platform, "run", suite, "--offset", "2", "--label", "last case")
    assert sliced.returncode == 0 and "1 of 1 cases" in sliced.stdout, sliced.stdout + sliced.stderr

    listed = cli(platform, "runs")
    assert listed.returncode == 0 and run_a in listed.stdout and run_b in listed.stdout
    shown = cli(platform, "show", run_b, "--cases")
    assert shown.returncode == 0 and "synthesize" in shown.stdout and all(c["id"] in shown.stdout for c in CASES)
    compared = cli(platform, "compare", run_a, run_b)
    assert compared.returncode == 0, compared.stderr
    assert "3 cases in both" in compared.stdout and "difference B - A" in compared.stdout
    assert "McNemar exact p" in compared.stdout

    # bad arguments: one line that says what to fix, never a traceback
    for args, message in ((("show", "not-a-run"), "is not a run id"),
                          (("run", suite, "--route", "synthesize"), "is not KIND=MODEL"),
                          (("run", "no-such-suite"), "no-such-suite"),
                          (("run", suite, "--mode", "bare", "--model", "gpt-9"), "unknown model 'gpt-9'"),
                          (("run", suite, "--offset", "3"), "offset 3 skips every case"),
                          (("compare", run_a, str(uuid.uuid4())), "no evaluation run")):
        refused = cli(platform, *args)
        assert refused.returncode != 0 and message in refused.stderr, (args, refused.stderr)
        assert "Traceback" not in refused.stderr


WORD_PROBLEMS = [
    {"id": "pens", "question": "Tom buys 4 pens at 3 dollars each. How many dollars does he pay?", "answer": 12},
    {"id": "apples", "question": "Sue has 9 apples and eats 2 of them. How many apples are left?", "answer": 7},
    {"id": "books", "question": "A shelf holds 6 books and Ben adds 5 more books. How many books are there now?",
     "answer": 11},
    {"id": "cakes", "question": "Mia bakes 3 trays of 8 cakes each. How many cakes does she bake?", "answer": 24},
]


def teacher_exemplars(client: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    return [e for e in client.get("/api/learning/v1/exemplars").json()
            if e["origin"] == "teacher" and e["origin_id"].startswith(run_id)]


def test_a_teacher_runs_right_answers_become_worked_examples(platform: Platform) -> None:
    suite = f"words-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {platform.admin_key}"},
                      timeout=300) as client:
        body = "".join(json.dumps(c) + "\n" for c in WORD_PROBLEMS).encode()
        assert client.post(f"/api/learning/v1/suites/{suite}", content=body).status_code == 201
        run = wait(client, client.post("/api/learning/v1/runs", json={"suite": suite, "label": "teacher"}).json()[
            "run_id"])
        results = client.get(f"/api/learning/v1/runs/{run['run_id']}/results").json()
        right = [r for r in results if r["correct"]]
        made = client.post(f"/api/learning/v1/runs/{run['run_id']}/exemplars")
        assert made.status_code == 200, made.text
        counts = made.json()
        assert counts["exemplars"] == len(right) and counts["skipped"] == len(results) - len(right)
        taught = teacher_exemplars(client, run["run_id"])
        assert len(taught) == len(right) and all(e["collection"] == "default" for e in taught)
        assert sum(e["work"] is not None for e in taught) == counts["with_work"]
        assert client.post(f"/api/learning/v1/runs/{uuid.uuid4()}/exemplars").status_code == 404
        worked = [e for e in taught if e["work"]]
        if worked:  # SmolLM2 wrote the arithmetic of at least one right answer: a student sees it
            # another question of the same kind: other numbers
            similar = re.sub(r"\d+", lambda m: str(int(m.group(0)) + 2), worked[0]["question"])
            asked = client.post("/api/reasoning/v1/ask", json={"question": similar}).json()
            trace = client.get(f"/api/reasoning/v1/traces/{asked['trace_id']}").json()
            recall = next(s for s in trace["steps"] if s["tool"] == "recall")["output"]
            assert worked[0]["work"] in [d["work"] for d in recall["demonstrations"]]
    again = cli(platform, "teach", run["run_id"])  # the same exemplars again, from the CLI: nothing doubles
    assert again.returncode == 0 and f"{counts['exemplars']} exemplars" in again.stdout, again.stderr
    assert cli(platform, "teach", "nonsense").returncode == 1
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {platform.admin_key}"}) as client:
        assert len(teacher_exemplars(client, run["run_id"])) == counts["exemplars"]
    user = asyncio.run(create_key(platform.backends, "user"))
    assert httpx.post(f"{platform.url}/api/learning/v1/runs/{run['run_id']}/exemplars",
                      headers={"Authorization": f"Bearer {user}"}).status_code == 403


def test_a_collection_scoped_admin_cannot_run_cases_in_another_collection(platform: Platform) -> None:
    tag = uuid.uuid4().hex[:6]
    mine, theirs = f"runs-mine-{tag}", f"runs-theirs-{tag}"
    suite = f"mixed-{tag}"
    cases = [{"id": "own", "question": "Who?", "answer": "x", "collection": mine},
             {"id": "other", "question": "Who?", "answer": "x", "collection": theirs}]
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {platform.admin_key}"},
                      timeout=60) as admin:
        body = "".join(json.dumps(c) + "\n" for c in cases).encode()
        assert admin.post(f"/api/learning/v1/suites/{suite}", content=body).status_code == 201
    scoped = asyncio.run(create_key(platform.backends, "admin", [mine]))
    with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {scoped}"}, timeout=60) as client:
        for body_json in ({"suite": suite}, {"suite": suite, "offset": 1}):  # the slice that is only theirs, too
            refused = client.post("/api/learning/v1/runs", json=body_json)
            assert refused.status_code == 403 and theirs in refused.json()["detail"], refused.text
