"""Feedback that changes behaviour, on the real stack (PostgreSQL, Redis, the learning and
reasoning services, SmolLM2, the bundled embedder): a correction of an answer, reviewed by an
admin of the collection, becomes an exemplar that the pipeline recalls for the same question
asked in other words, and the passage marked wrong is demoted; who may correct, approve and see
what; a well-rated answer becomes an exemplar and a down-rating retires it; bad input."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.integration.conftest import Platform, create_key
from tests.integration.knowledge_helpers import auth, ingest_text

ASKED = "Who is the chief executive of Quillfeather Dynamics?"
PARAPHRASE = "Name the chief executive of Quillfeather Dynamics."
UNRELATED = "How many people does Quillfeather Dynamics employ?"
DOCS = {"quillfeather.txt": "Quillfeather Dynamics builds sensor arrays in Varnholm. Quillfeather Dynamics employs "
                            "412 people.",
        "marlow.txt": "Harbin Lowe is the chief executive of Marlow Freight, a shipping company."}


def step(trace: dict[str, Any], tool: str) -> dict[str, Any]:
    return next(s for s in trace["steps"] if s["tool"] == tool)


def test_a_correction_becomes_memory_for_the_same_question_in_other_words(platform: Platform) -> None:
    collection = f"mem-{uuid.uuid4().hex[:6]}"
    user_key = asyncio.run(create_key(platform.backends, "user", [collection]))
    other_key = asyncio.run(create_key(platform.backends, "user", [collection]))
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin, \
            httpx.Client(base_url=platform.url, headers=auth(user_key), timeout=300) as user, \
            httpx.Client(base_url=platform.url, headers=auth(other_key), timeout=300) as other:
        for source, text in DOCS.items():
            ingest_text(admin, text, source=source, collection=collection)

        first = user.post("/api/reasoning/v1/ask", json={"question": ASKED, "collection": collection})
        assert first.status_code == 200, first.text
        trace_id = first.json()["trace_id"]
        trace = user.get(f"/api/reasoning/v1/traces/{trace_id}").json()
        recall = step(trace, "recall")
        assert recall["status"] == "ok" and recall["output"]["exemplars"] == [], recall
        found = [p["chunk_id"] for p in step(trace, "search")["output"]["passages"]]
        marlow = next(p["chunk_id"] for p in step(trace, "search")["output"]["passages"] if "Marlow" in p["text"])

        # bad input and someone else's answer
        empty = user.post("/api/learning/v1/corrections", json={"trace_id": trace_id, "answer": "  "})
        assert empty.status_code == 422 and "empty" in empty.json()["detail"]
        stranger = other.post("/api/learning/v1/corrections", json={"trace_id": trace_id, "answer": "Someone"})
        assert stranger.status_code == 404 and "that you may read" in stranger.json()["detail"]
        unknown_passage = user.post("/api/learning/v1/corrections", json={
            "trace_id": trace_id, "answer": "Odile Brandvik", "wrong_passages": ["not-a-chunk"]})
        assert unknown_passage.status_code == 422 and "not one this answer was shown" in unknown_passage.text
        both = user.post("/api/learning/v1/corrections", json={
            "trace_id": trace_id, "answer": "Odile Brandvik", "passage": marlow, "wrong_passages": [marlow]})
        assert both.status_code == 422

        # the user's correction waits for an admin of the collection
        made = user.post("/api/learning/v1/corrections", json={
            "trace_id": trace_id, "answer": "Odile Brandvik", "wrong_passages": [marlow],
            "note": "the Marlow passage is about another company"})
        assert made.status_code == 201 and made.json()["status"] == "pending", made.text
        correction = made.json()["id"]
        pending = user.post("/api/reasoning/v1/ask", json={"question": PARAPHRASE, "collection": collection}).json()
        assert step(user.get(f"/api/reasoning/v1/traces/{pending['trace_id']}").json(),
                    "recall")["output"]["exemplars"] == []
        refused = user.post(f"/api/learning/v1/corrections/{correction}/approve")
        assert refused.status_code == 403 and "admin of collection" in refused.json()["detail"]
        assert other.post(f"/api/learning/v1/corrections/{correction}/approve").status_code == 404
        approved = admin.post(f"/api/learning/v1/corrections/{correction}/approve", json={"note": "checked"})
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        again = admin.post(f"/api/learning/v1/corrections/{correction}/reject")
        assert again.status_code == 409 and "already approved" in again.json()["detail"]

        # the same question in other words: recalled, cited, and the wrong passage demoted
        # (one sample at temperature 0: SmolLM2's extra samples at 0.7 wander)
        answer = user.post("/api/reasoning/v1/ask", json={"question": PARAPHRASE, "collection": collection,
                                                          "options": {"samples": 1}}).json()
        recalled = user.get(f"/api/reasoning/v1/traces/{answer['trace_id']}").json()
        memory = step(recalled, "recall")["output"]
        assert [e["answer"] for e in memory["exemplars"]] == ["Odile Brandvik"] and memory["demoted"] == [marlow]
        assert recalled["plan"]["steps"][0]["tool"] == "recall" and recalled["plan"]["strategy"] == "remembered"
        assert not [s for s in recalled["steps"] if s["tool"] == "search"]  # answered from the approved answer
        synthesized = step(recalled, "synthesize")["output"]["considered"]
        assert synthesized[0]["chunk_id"].startswith("memory:") and "Odile Brandvik" in synthesized[0]["text"]
        assert "Brandvik" in answer["answer"], answer
        assert any(c["chunk_id"].startswith("memory:") for c in answer["citations"]), answer

        # a question about something else is not given the approved answer
        unrelated = user.post("/api/reasoning/v1/ask", json={"question": UNRELATED, "collection": collection}).json()
        unrelated_trace = user.get(f"/api/reasoning/v1/traces/{unrelated['trace_id']}").json()
        assert step(unrelated_trace, "recall")["output"]["exemplars"] == []

        # who sees what
        assert [c["id"] for c in user.get("/api/learning/v1/corrections").json()] == [correction]
        assert other.get("/api/learning/v1/corrections").json() == []
        exemplars = admin.get("/api/learning/v1/exemplars").json()
        mine = next(e for e in exemplars if e["origin_id"] == correction)
        assert mine["collection"] == collection and mine["active"]
        assert user.get("/api/learning/v1/exemplars").status_code == 403
        outsider = asyncio.run(create_key(platform.backends, "user", ["elsewhere"]))
        assert httpx.get(f"{platform.url}/api/learning/v1/memory", params={"collection": collection},
                         headers=auth(outsider)).status_code == 403

        # retired: no longer recalled
        assert admin.delete(f"/api/learning/v1/exemplars/{mine['id']}").status_code == 204
        assert admin.delete(f"/api/learning/v1/exemplars/{mine['id']}").status_code == 409
        held = user.get("/api/learning/v1/memory", params={"collection": collection}).json()
        assert held["exemplars"] == [] and held["demotions"] == [{"question": ASKED, "chunk_id": marlow}]

        # the demotion stays: the same question searches again, the wrong passage after every other
        again = user.post("/api/reasoning/v1/ask", json={"question": PARAPHRASE, "collection": collection}).json()
        searched_trace = user.get(f"/api/reasoning/v1/traces/{again['trace_id']}").json()
        assert step(searched_trace, "recall")["output"]["demoted"] == [marlow]
        searched = [p["chunk_id"] for p in step(searched_trace, "search")["output"]["passages"]]
        assert set(searched) == set(found) and searched[-1] == marlow


def test_ratings_make_and_retire_exemplars_and_one_of_two_reviews_wins(platform: Platform) -> None:
    collection = f"rate-{uuid.uuid4().hex[:6]}"
    user_key = asyncio.run(create_key(platform.backends, "user", [collection]))
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin, \
            httpx.Client(base_url=platform.url, headers=auth(user_key), timeout=300) as user:
        ingest_text(admin, DOCS["quillfeather.txt"], source="q.txt", collection=collection)
        asked = admin.post("/api/reasoning/v1/ask", json={"question": UNRELATED, "collection": collection}).json()
        assert not asked["abstained"], asked
        assert admin.post("/api/learning/v1/feedback", json={"trace_id": asked["trace_id"],
                                                             "rating": "up"}).status_code == 201
        rated = [e for e in admin.get("/api/learning/v1/exemplars").json() if e["origin_id"] == asked["trace_id"]]
        assert len(rated) == 1 and rated[0]["origin"] == "rating" and "[" not in rated[0]["answer"]
        assert admin.post("/api/learning/v1/feedback", json={"trace_id": asked["trace_id"],
                                                             "rating": "down"}).status_code == 200
        assert not [e for e in admin.get("/api/learning/v1/exemplars").json() if e["origin_id"] == asked["trace_id"]]

        # two admins approve the same correction at once: exactly one wins
        mine = user.post("/api/reasoning/v1/ask", json={"question": UNRELATED, "collection": collection}).json()
        correction = user.post("/api/learning/v1/corrections", json={"trace_id": mine["trace_id"],
                                                                     "answer": "412 people"}).json()["id"]
        second_admin = asyncio.run(create_key(platform.backends, "admin"))

        async def approve(key: str) -> int:
            async with httpx.AsyncClient(base_url=platform.url, headers=auth(key), timeout=60) as client:
                return (await client.post(f"/api/learning/v1/corrections/{correction}/approve")).status_code

        async def both() -> list[int]:
            return list(await asyncio.gather(approve(platform.admin_key), approve(second_admin)))

        assert sorted(asyncio.run(both())) == [200, 409]
        exemplars = [e for e in admin.get("/api/learning/v1/exemplars").json() if e["origin_id"] == correction]
        assert len(exemplars) == 1


SUTAZAI = str(Path(sys.executable).parent / "sutazai")


def cli(platform: Platform, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUTAZAI_URL": platform.url, "SUTAZAI_API_KEY": key, "COLUMNS": "250"}
    return subprocess.run([SUTAZAI, "feedback", *args], capture_output=True, text=True, env=env, timeout=300,
                          check=False)


def test_the_feedback_cli(platform: Platform) -> None:
    collection = f"cli-{uuid.uuid4().hex[:6]}"
    user_key = asyncio.run(create_key(platform.backends, "user", [collection]))
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        ingest_text(admin, DOCS["quillfeather.txt"], source="q.txt", collection=collection)
    with httpx.Client(base_url=platform.url, headers=auth(user_key), timeout=300) as user:
        asked = user.post("/api/reasoning/v1/ask", json={"question": ASKED, "collection": collection})
        trace = asked.json()["trace_id"]

    made = cli(platform, user_key, "correct", trace, "--answer", "Odile Brandvik", "--note", "from the board minutes")
    assert made.returncode == 0 and "pending" in made.stdout, made.stderr
    correction = made.stdout.split()[1]
    listed = cli(platform, user_key, "corrections", "--status", "pending")
    assert listed.returncode == 0 and correction in listed.stdout and "Odile Brandvik" in listed.stdout
    refused = cli(platform, user_key, "approve", correction)
    assert refused.returncode == 1 and "only an admin of collection" in refused.stderr
    approved = cli(platform, platform.admin_key, "approve", correction, "--note", "checked")
    assert approved.returncode == 0 and "approved" in approved.stdout, approved.stderr
    shown = cli(platform, platform.admin_key, "exemplars")
    assert shown.returncode == 0 and "Odile Brandvik" in shown.stdout
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=60) as admin:
        exemplar = next(e["id"] for e in admin.get("/api/learning/v1/exemplars").json() if e["origin_id"] == correction)
    assert cli(platform, platform.admin_key, "retire", exemplar).returncode == 0
    assert "retired" in cli(platform, platform.admin_key, "exemplars", "--retired").stdout

    for args, message in ((("correct", "not-a-trace", "--answer", "x"), "is not a trace id"),
                          (("correct", trace, "--answer", " "), "empty"),
                          (("rate", trace, "sideways"), "up or down"),
                          (("corrections", "--status", "maybe"), "pending, approved or rejected"),
                          (("approve", str(uuid.uuid4())), "no correction")):
        bad = cli(platform, user_key, *args)
        assert bad.returncode != 0 and message in bad.stderr and "Traceback" not in bad.stderr, (args, bad.stderr)
