"""Calibrated confidence on the real stack (embedded PostgreSQL, Redis, the bundled SmolLM2):
every answer is assessed by the metacognition service and the trace records it; evaluation runs
become labels (the withheld answer is scored too); a calibrator is fitted from labels and used
from the next answer on; bad input and the wrong caller get clear refusals."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.calibration_helpers import ASSESS, seed_labels
from tests.integration.conftest import Platform, calibrators_removed_after, create_key
from tests.integration.knowledge_helpers import auth

SUTAZAI = str(Path(sys.executable).with_name("sutazai"))
FEATURES = {"agreement": 1.0, "supported_fraction": None, "answer_kind": "number", "strategy": "compute",
            "computed": True, "samples": 1}


@pytest.fixture(scope="module", autouse=True)
def prior_after(platform: Platform) -> Iterator[None]:
    with calibrators_removed_after(platform):
        yield


def wait(client: httpx.Client, run_id: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (run := client.get(f"/api/learning/v1/runs/{run_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, run
        time.sleep(1)
    return run


def test_every_answer_is_assessed_and_the_trace_records_it(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        asked = admin.post("/api/reasoning/v1/ask", json={"question": "What is 17 * 23 + 1/4?"})
        assert asked.status_code == 200, asked.text
        body = asked.json()
        assessment = body["assessment"]
        assert assessment["method"] in ("prior", "logistic", "isotonic") and assessment["calibrator"] is not None
        assert body["confidence"] == assessment["probability"] and assessment["features"]["computed"] is True
        trace = admin.get(f"/api/reasoning/v1/traces/{body['trace_id']}").json()
        assert trace["assessment"]["probability"] == body["confidence"]
        assert trace["assessment"]["features"]["strategy"] == trace["plan"]["strategy"]


def test_assessments_refuse_bad_input_and_strangers(platform: Platform) -> None:
    user_key = asyncio.run(create_key(platform.backends, "user"))
    with httpx.Client(base_url=platform.url, timeout=60) as client:
        assert client.post(ASSESS, json={"features": FEATURES}).status_code == 401
        missing = client.post(ASSESS, headers=auth(user_key), json={"features": {"agreement": 0.5}})
        assert missing.status_code == 422 and "supported_fraction" in missing.text
        wrong = client.post(ASSESS, headers=auth(user_key), json={"features": {**FEATURES, "agreement": 1.5}})
        assert wrong.status_code == 422 and "agreement" in wrong.text
        extra = client.post(ASSESS, headers=auth(user_key), json={"features": {**FEATURES, "mood": "sure"}})
        assert extra.status_code == 422 and "mood" in extra.text
        assert client.post(ASSESS, headers=auth(user_key), json={}).status_code == 422

        trace_id = str(uuid.uuid4())
        first = client.post(ASSESS, headers=auth(user_key), json={"features": FEATURES, "trace_id": trace_id})
        assert first.status_code == 200 and 0 <= first.json()["probability"] <= 1
        again = client.post(ASSESS, headers=auth(user_key), json={"features": FEATURES, "trace_id": trace_id})
        assert again.status_code == 200  # a retried call replaces its own assessment
        stolen = client.post(ASSESS, headers=auth(platform.admin_key), json={"features": FEATURES,
                                                                             "trace_id": trace_id})
        assert stolen.status_code == 409 and "someone else" in stolen.text

        for path in ("/api/metacognition/v1/calibration", "/api/metacognition/v1/calibrators"):
            assert client.get(path, headers=auth(user_key)).status_code == 403
        assert client.post("/api/metacognition/v1/calibrators", headers=auth(user_key)).status_code == 403


def test_evaluation_runs_become_labels(platform: Platform) -> None:
    suite = f"sums-{uuid.uuid4().hex[:6]}"
    cases = [{"id": "a", "question": "What is 12 * 12?", "answer": 144},
             {"id": "b", "question": "What is 7 + 8 * 2?", "answer": 23}]
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        body = "".join(json.dumps(c) + "\n" for c in cases).encode()
        assert admin.post(f"/api/learning/v1/suites/{suite}", content=body).status_code == 201
        started = admin.post("/api/learning/v1/runs", json={"suite": suite, "label": "labels"})
        assert started.status_code == 202, started.text
        wait(admin, started.json()["run_id"])
        results = admin.get(f"/api/learning/v1/runs/{started.json()['run_id']}/results").json()
        traced = {r["trace_id"] for r in results if r["trace_id"]}
        assert traced and all(r["candidate_correct"] is not None for r in results if r["trace_id"])
        labels = admin.get("/api/learning/v1/outcomes").json()
        mine = [o for o in labels if o["suite"] == suite]
        assert {o["trace_id"] for o in mine} == traced and all(o["source"] == "evaluation" for o in mine)
        report = admin.get("/api/metacognition/v1/calibration").json()
        assert report["groups"][suite]["cases"] == len(traced)
        assert admin.get("/api/learning/v1/outcomes", params={"since": "2026-01-01T00:00:00"}).status_code == 422


def test_ratings_and_approved_corrections_become_labels(platform: Platform) -> None:
    """An answer rated up (with no correction at all) is a right label, one rated down a wrong
    one, and an approved correction makes even an up-rated answer wrong (the labels once came
    back with no value for a plain thumbs-up, and every later read of them was a 500)."""
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        traces = []
        for _ in range(3):
            asked = admin.post("/api/reasoning/v1/ask", json={"question": "What is 12 times 7?"})
            assert asked.status_code == 200, asked.text
            traces.append(asked.json()["trace_id"])
        up, down, corrected = traces
        for trace, rating in ((up, "up"), (down, "down"), (corrected, "up")):
            rated = admin.post("/api/learning/v1/feedback", json={"trace_id": trace, "rating": rating})
            assert rated.status_code == 201, rated.text
        made = admin.post("/api/learning/v1/corrections", json={"trace_id": corrected, "answer": "85"})
        assert made.status_code == 201 and made.json()["status"] == "approved", made.text  # an admin's own
        listed = admin.get("/api/learning/v1/outcomes")
        assert listed.status_code == 200, listed.text
        labels = {o["trace_id"]: o for o in listed.json() if o["trace_id"] in traces}
        assert {t: (o["source"], o["correct"]) for t, o in labels.items()} == {
            up: ("feedback", True), down: ("feedback", False), corrected: ("feedback", False)}


def test_a_calibrator_is_fitted_from_labels_and_used_from_the_next_answer(platform: Platform) -> None:
    suite = f"seeded-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        outcomes = seed_labels(platform, admin, suite, 240)
        fitted = admin.post("/api/metacognition/v1/calibrators", json={"seed": 1})
        assert fitted.status_code == 201, fitted.text
        calibrator = fitted.json()
        metrics = calibrator["metrics"]
        assert calibrator["method"] in ("logistic", "isotonic") and metrics["labels"] >= 240
        assert metrics["held_out"] >= 60 and set(metrics["cross_validated_brier"]) == {"logistic", "isotonic"}
        # computed answers are right 90% of the time whatever their agreement: the prior says 1/3 for some
        assert metrics["held_out_metrics"]["brier"] < metrics["prior_held_out_metrics"]["brier"]
        mine = metrics["held_out_by_group"][suite]  # the held-out measurement of this suite's labels alone
        base = sum(outcomes) / len(outcomes)  # a constant predictor of the base rate scores base * (1 - base)
        assert mine["cases"] == 240 and mine["brier"] < base * (1 - base) - 0.02, (mine, base)
        assert 0 < mine["ece_if_perfectly_calibrated"]["mean"] <= mine["ece_if_perfectly_calibrated"]["p95"]
        assert sum(g["cases"] for g in metrics["held_out_by_group"].values()) == metrics["held_out"]

        used = admin.post(ASSESS, json={"features": {**FEATURES, "agreement": 1 / 3, "samples": 3}}).json()
        assert used["calibrator"] == calibrator["version"] and used["method"] == calibrator["method"]
        assert used["probability"] > 0.5  # the prior would have said 0.33

        report = admin.get("/api/metacognition/v1/calibration", params={"target_risk": 0.2}).json()
        assert report["active"]["version"] == calibrator["version"] and report["target_risk"] == 0.2
        held = report["active"]["held_out"]
        assert held["cases"] == metrics["held_out"] and held["ece"] == metrics["held_out_metrics"]["ece"]
        assert sum(b["count"] for b in held["reliability"]) == held["cases"]
        assert held["risk_coverage"][-1]["coverage"] == 1.0
        assert report["groups"][suite]["cases"] == 240
        listed = admin.get("/api/metacognition/v1/calibrators").json()
        assert listed[0]["version"] == calibrator["version"]


def meta(platform: Platform, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUTAZAI_URL": platform.url, "SUTAZAI_API_KEY": key, "COLUMNS": "200"}
    return subprocess.run([SUTAZAI, "meta", *args], capture_output=True, text=True, env=env, timeout=300,
                          check=False)


def test_the_cli_fits_and_draws_the_calibration(platform: Platform, tmp_path: Path) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        # two sets of its own, so the per-set table is shown whatever earlier tests left behind
        for part in ("a", "b"):
            seed_labels(platform, admin, f"cli-{part}-{uuid.uuid4().hex[:6]}", 40)
    fitted = meta(platform, platform.admin_key, "fit", "--seed", "2")
    assert fitted.returncode == 0, fitted.stderr
    assert "fitted on" in fitted.stdout and "prior (agreement × support)" in fitted.stdout
    assert "held out, by set" in fitted.stdout and "a perfectly calibrated model, by chance" in fitted.stdout
    shown = meta(platform, platform.admin_key, "calibration", "--out", str(tmp_path / "plots"), "--target-risk", "0.2")
    assert shown.returncode == 0, shown.stderr
    assert "held out (calibrator" in shown.stdout and "ECE" in shown.stdout
    for name in ("reliability", "risk-coverage"):
        assert (tmp_path / "plots" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        assert "<svg" in (tmp_path / "plots" / f"{name}.svg").read_text()
    user_key = asyncio.run(create_key(platform.backends, "user"))
    refused = meta(platform, user_key, "calibration")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr and "admin" in refused.stderr


def test_the_labels_can_be_read_and_exported_by_an_admin_only(platform: Platform, tmp_path: Path) -> None:
    suite = f"export-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=300) as admin:
        seed_labels(platform, admin, suite, 12)
        got = admin.get("/api/metacognition/v1/labels", params={"suite": suite})
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["total"] == 12 and len(body["labels"]) == 12
        first = body["labels"][0]
        assert first["source"] == "evaluation" and first["suite"] == suite and isinstance(first["correct"], bool)
        assert {"agreement", "supported_fraction", "computed"} <= set(first["features"])
        assert 0 <= first["probability"] <= 1
        stamps = [r["assessed_at"] for r in body["labels"]]
        assert stamps == sorted(stamps, reverse=True)  # newest first
        assert len(admin.get("/api/metacognition/v1/labels", params={"suite": suite, "limit": 5}).json()["labels"]) == 5
        assert admin.get("/api/metacognition/v1/labels", params={"suite": suite, "source": "feedback"}).json()[
            "total"] == 0
    for name in ("labels.jsonl", "labels.csv"):
        done = meta(platform, platform.admin_key, "labels", "--suite", suite, "--out", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
        assert "wrote 12 of 12 labels" in done.stdout
    lines = (tmp_path / "labels.jsonl").read_text().splitlines()
    assert len(lines) == 12 and all(json.loads(line)["suite"] == suite for line in lines)
    rows = (tmp_path / "labels.csv").read_text().splitlines()
    assert len(rows) == 13 and rows[0].startswith("trace_id,source,suite") and "agreement" in rows[0]
    wrong_file = meta(platform, platform.admin_key, "labels", "--out", str(tmp_path / "labels.txt"))
    assert wrong_file.returncode == 2 and ".jsonl or a .csv" in wrong_file.stderr
    user_key = asyncio.run(create_key(platform.backends, "user"))
    scoped_admin = asyncio.run(create_key(platform.backends, "admin", ["some-collection"]))
    with httpx.Client(base_url=platform.url, timeout=60) as client:
        assert client.get("/api/metacognition/v1/labels").status_code == 401
        assert client.get("/api/metacognition/v1/labels", headers=auth(user_key)).status_code == 403
        assert client.get("/api/metacognition/v1/labels", headers=auth(scoped_admin)).status_code == 403
    refused = meta(platform, user_key, "labels", "--out", str(tmp_path / "mine.jsonl"))
    assert refused.returncode != 0 and "Traceback" not in refused.stderr and "admin" in refused.stderr


def test_fitting_refuses_a_bad_seed_with_the_field_named(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=60) as admin:
        refused = admin.post("/api/metacognition/v1/calibrators", json={"seed": -1})
        assert refused.status_code == 422 and "seed" in refused.text
