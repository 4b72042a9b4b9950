"""Labels whose chance of being right is known, written as an evaluation run writes them: for the
tests that need a calibrator fitted on their own data."""

from __future__ import annotations

import json
import random
import uuid

import httpx
import psycopg
from psycopg.types.json import Jsonb

from tests.integration.conftest import Platform

ASSESS = "/api/metacognition/v1/assessments"


def seed_labels(platform: Platform, admin: httpx.Client, suite: str, n: int) -> list[bool]:
    """n assessed answers whose chance of being right is known, labelled as an evaluation run of
    `suite` would label them (rows written to the learning service's tables, as its worker does).
    Returns whether each was right."""
    rng = random.Random(7)
    rows = []
    for i in range(n):
        computed = rng.random() < 0.5
        agreement = rng.choice([1 / 3, 2 / 3, 1.0])
        features = {"agreement": agreement, "supported_fraction": None if computed else rng.choice([0.0, 1.0]),
                    "computed": computed, "samples": 3, "answer_kind": "number" if computed else "text"}
        trace_id = str(uuid.uuid4())
        assessed = admin.post(ASSESS, json={"features": features, "trace_id": trace_id})
        assert assessed.status_code == 200, assessed.text
        rows.append((f"c{i}", i, trace_id, rng.random() < (0.9 if computed else 0.2 + 0.3 * agreement)))
    body = "".join(json.dumps({"id": case, "question": f"q{case}", "answer": "x"}) + "\n" for case, *_ in rows)
    assert admin.post(f"/api/learning/v1/suites/{suite}", content=body.encode()).status_code == 201
    with psycopg.connect(platform.backends.postgres.dsn()) as conn:
        suite_id = conn.execute("SELECT suite_id FROM learning.eval_suites WHERE name = %s", (suite,)).fetchone()[0]
        run_id = uuid.uuid4()
        conn.execute("INSERT INTO learning.eval_runs (run_id, suite_id, label, config, status, total, created_by) "
                     "VALUES (%s, %s, 'seeded', %s, 'done', %s, 'test')", (run_id, suite_id, Jsonb({}), n))
        for case, position, trace_id, right in rows:
            conn.execute("INSERT INTO learning.eval_results (run_id, case_id, position, correct, abstained, "
                         "trace_id, candidate_correct) VALUES (%s, %s, %s, %s, false, %s, %s)",
                         (run_id, case, position, right, trace_id, right))
    return [right for *_, right in rows]
