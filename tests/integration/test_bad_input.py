"""Hostile input on every service's write and search routes gets a 4xx that says what to fix,
never a 500: NUL bytes (which PostgreSQL refuses), numbers too large for any column or C
integer, and JSON nested deeper than any request needs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Platform
from tests.integration.knowledge_helpers import auth

NUL = "a\u0000b"
HUGE = 10**40
DEEP = json.dumps({"question": "hi", "options": {"budget": {}}}).replace("{}", "[" * 5000 + "]" * 5000)

SURROGATE = '"lone \\ud800 surrogate"'  # JSON text holding an unpaired UTF-16 surrogate
VERY_DEEP = '{"text": "deep", "source": "deep.txt", "tags": ' + "[" * 100_000 + "]" * 100_000 + "}"
DEEP_FILE = ("[" * 5000 + "]" * 5000).encode()
LATE_NUL = ("# Title\n\n" + "A line of prose.\n" * 1000 + "then a NUL \u0000 here\n").encode()
LONG_PROMPT = "word " * 60_000


def _json(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": {"content-type": "application/json"}}


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/knowledge/v1/documents", {"json": {"text": "ok", "source": "t.txt", "title": NUL}}),
    ("POST", "/api/knowledge/v1/documents", {"json": {"text": "ok", "source": NUL}}),
    ("POST", "/api/knowledge/v1/documents", {"json": {"text": "ok", "source": "t.txt", "tags": [NUL]}}),
    ("POST", "/api/knowledge/v1/documents", {"json": {"text": f"# Title\n\nbody {NUL}", "source": "m.md",
                                                      "media_type": "text/markdown"}}),
    ("POST", "/api/knowledge/v1/documents", {"files": {"file": ("late.md", LATE_NUL, "text/markdown")}}),
    ("POST", "/api/knowledge/v1/documents", {"files": {"file": ("a.txt", b"fine text", "text/plain")},
                                             "data": {"title": NUL}}),
    ("POST", "/api/knowledge/v1/documents", {"files": {"file": ("a.txt", b"fine text", "text/plain")},
                                             "data": {"tags": f"a,{NUL}"}}),
    ("POST", "/api/knowledge/v1/documents", {"files": {"file": ("deep.json", DEEP_FILE, "application/json")}}),
    ("POST", "/api/knowledge/v1/documents", {"files": {"file": ("s.json", b'{"a": "\\ud800"}',
                                                                "application/json")}}),
    ("POST", "/api/knowledge/v1/documents", _json('{"text": ' + SURROGATE + ', "source": "s.txt"}')),
    ("POST", "/api/knowledge/v1/documents", _json('{"text": "ok", "source": "s.txt", "title": ' + SURROGATE + '}')),
    ("POST", "/api/knowledge/v1/documents", _json(VERY_DEEP)),
    ("POST", "/api/reasoning/v1/ask", _json('{"question": ' + SURROGATE + '}')),
    ("POST", "/api/identity/v1/keys", _json('{"name": ' + SURROGATE + '}')),
    ("GET", "/api/knowledge/v1/search", {"params": {"q": "ada", "document": "not-a-uuid"}}),
    ("GET", "/api/knowledge/v1/search", {"params": {"q": "ada", "tag": NUL}}),
    ("GET", "/api/knowledge/v1/documents", {"params": {"offset": 2**63}}),
    ("POST", "/v1/chat/completions", {"json": {"model": "sutazai", "messages": [{"role": "user",
                                                                              "content": NUL}]}}),
    ("POST", "/v1/chat/completions", {"json": {"model": "SmolLM2-135M-Instruct.Q4_1", "messages": [
        {"role": "user", "content": LONG_PROMPT}]}}),
    ("POST", "/api/identity/v1/keys", {"json": {"name": NUL}}),
    ("POST", "/api/knowledge/v1/documents", {"json": {"text": f"Some text {NUL}", "source": "nul.txt"}}),
    ("GET", "/api/knowledge/v1/search", {"params": {"q": NUL}}),
    ("GET", "/api/knowledge/v1/documents", {"params": {"offset": HUGE}}),
    ("GET", f"/api/knowledge/v1/documents/{HUGE}/jobs", {"params": {"q": NUL}}),
    ("GET", "/api/knowledge/v1/documents/%00/jobs", {"params": {}}),
    ("POST", "/api/reasoning/v1/ask", {"json": {"question": f"What is 2 + 2? {NUL}"}}),
    ("POST", "/api/reasoning/v1/ask", {"json": {"question": "What is 2 + 2?", "options": {"seed": HUGE}}}),
    ("POST", "/api/reasoning/v1/ask", {"content": DEEP, "headers": {"content-type": "application/json"}}),
    ("POST", "/api/reasoning/v1/ask", {"json": {"question": "What is 2 + 2?",
                                                "options": {"routes": {"synthesize": "gpt-9"}}}}),
    ("POST", "/api/reasoning/v1/ask", {"json": {"question": "What is 2 + 2?",
                                                "options": {"routes": {"synthesize": NUL}}}}),
    ("POST", "/api/reasoning/v1/ask/stream", {"json": {"question": "What is 2 + 2?",
                                                       "options": {"routes": {"dream": "x"}}}}),
    ("POST", "/v1/chat/completions", {"json": {"model": "sutazai", "seed": HUGE,
                                              "messages": [{"role": "user", "content": "What is 2 + 2?"}]}}),
    ("POST", "/api/learning/v1/feedback", {"json": {"trace_id": "00000000-0000-0000-0000-000000000000",
                                                    "rating": "up", "comment": NUL}}),
    ("POST", "/api/learning/v1/feedback", {"content": DEEP, "headers": {"content-type": "application/json"}}),
    # users, sign-in, grants, SSO, suites and runs (this round)
    ("POST", "/api/identity/v1/sessions", {"json": {"username": NUL, "password": "x"}}),
    ("POST", "/api/identity/v1/sessions", {"json": {"username": "ann", "password": NUL}}),
    ("POST", "/api/identity/v1/sessions", {"content": DEEP, "headers": {"content-type": "application/json"}}),
    ("POST", "/api/identity/v1/users", {"json": {"username": NUL, "password": "a long enough passphrase"}}),
    ("POST", "/api/identity/v1/users", {"json": {"username": "nul-pass", "password": f"long enough {NUL} pass"}}),
    ("PUT", "/api/identity/v1/grants", {"json": {"user": NUL, "collection": "hr"}}),
    ("PUT", "/api/identity/v1/grants", {"json": {"user": "nobody-here", "collection": NUL}}),
    ("POST", "/api/identity/v1/groups", {"json": {"name": NUL}}),
    ("PUT", "/api/identity/v1/directory-mappings", {"json": {"provider": "ldap", "external_group": NUL,
                                                             "group": "nobody"}}),
    ("POST", "/api/identity/v1/sso/oidc/callback", {"json": {"code": NUL, "state": NUL}}),
    ("POST", "/api/learning/v1/suites/nul-suite",
     {"content": ('{"question": "q", "answer": "' + NUL + '"}\n').encode()}),
    ("POST", "/api/learning/v1/suites/deep-suite", {"content": DEEP}),
    ("POST", "/api/learning/v1/suites/huge-suite", {"content": ('{"question": "q", "answer": ' + str(HUGE) +
                                                                ', "tolerance": 1e999}\n').encode()}),
    ("GET", "/api/learning/v1/suites/nul-suite", {"params": {"version": HUGE}}),
    ("POST", "/api/learning/v1/runs", {"json": {"suite": NUL}}),
    ("POST", "/api/learning/v1/runs", {"json": {"suite": "gsm8k", "limit": HUGE}}),
    ("GET", "/api/learning/v1/runs/compare", {"params": {"a": "not-a-uuid", "b": NUL}}),
    ("POST", "/api/learning/v1/runs", {"json": {"suite": "gsm8k", "ensemble": [NUL, "x"]}}),
    # corrections, memory, routing, proposals
    ("POST", "/api/learning/v1/corrections", {"json": {"trace_id": "00000000-0000-0000-0000-000000000000",
                                                       "answer": NUL}}),
    ("POST", "/api/learning/v1/corrections", {"json": {"trace_id": "00000000-0000-0000-0000-000000000000",
                                                       "answer": "x", "wrong_passages": [NUL]}}),
    ("POST", "/api/learning/v1/corrections", {"content": DEEP, "headers": {"content-type": "application/json"}}),
    ("POST", "/api/learning/v1/corrections/not-a-uuid/approve", {"json": {"note": NUL}}),
    ("GET", "/api/learning/v1/memory", {"params": {"collection": NUL}}),
    ("POST", "/api/learning/v1/runs/not-a-uuid/exemplars", {}),
    ("POST", "/api/learning/v1/routing/recommendations", {"json": {"suite": NUL, "latency_budget_s": HUGE}}),
    ("POST", "/api/learning/v1/routing/recommendations", {"content": DEEP,
                                                          "headers": {"content-type": "application/json"}}),
    ("POST", "/api/metacognition/v1/proposals", {"json": {"kind": "routes", "change": {"routes": {"plan": NUL}}}}),
    ("POST", "/api/metacognition/v1/proposals", {"content": DEEP, "headers": {"content-type": "application/json"}}),
    ("POST", "/api/metacognition/v1/proposals", {"json": {"kind": "abstain_below", "change": {
        "abstain_below": HUGE}}}),
    ("POST", "/api/reasoning/v1/ask", {"json": {"question": "Hi?", "options": {"ensemble": [NUL, NUL]}}}),
    # confidence and calibration
    ("POST", "/api/metacognition/v1/assessments", {"json": {"features": {"agreement": HUGE,
                                                                         "supported_fraction": None}}}),
    ("POST", "/api/metacognition/v1/assessments", {
        "content": b'{"features": {"agreement": 1.0, "supported_fraction": null, "retrieval_scores": [1e999]}}',
        "headers": {"content-type": "application/json"}}),
    ("POST", "/api/metacognition/v1/assessments", {"json": {"features": {
        "agreement": 1.0, "supported_fraction": None, "strategy": NUL * 100}}}),
    ("POST", "/api/metacognition/v1/assessments", {"json": {"features": {
        "agreement": 1.0, "supported_fraction": None, "retrieval_scores": [0.5] * 100_000}}}),
    ("POST", "/api/metacognition/v1/assessments", {"json": {"features": {"agreement": 1.0, "supported_fraction": 0.5},
                                                            "trace_id": NUL}}),
    ("POST", "/api/metacognition/v1/assessments", {"content": DEEP, "headers": {"content-type": "application/json"}}),
    ("POST", "/api/metacognition/v1/calibrators", {"json": {"seed": HUGE}}),
    ("POST", "/api/metacognition/v1/calibrators", {"json": {"seed": 2**32}}),  # past scikit-learn's random_state
    ("POST", "/api/metacognition/v1/calibrators", {"json": {"seed": NUL}}),
    ("GET", "/api/metacognition/v1/calibration", {"params": {"target_risk": NUL}}),
    ("GET", "/api/metacognition/v1/calibration", {"params": {"target_risk": 1.5}}),
    ("POST", "/api/learning/v1/runs", {"json": {"suite": "x", "offset": HUGE}}),
    ("POST", "/api/learning/v1/runs", {"json": {"suite": "x", "offset": NUL}}),
    ("POST", "/api/learning/v1/runs", {"content": DEEP, "headers": {"content-type": "application/json"}}),
    ("GET", "/api/metacognition/v1/labels", {"params": {"suite": NUL}}),
    ("GET", "/api/metacognition/v1/labels", {"params": {"source": "rumour"}}),
    ("GET", "/api/metacognition/v1/labels", {"params": {"limit": HUGE}}),
    ("GET", "/api/metacognition/v1/labels", {"params": {"limit": 0, "sync": NUL}}),
    ("GET", "/api/learning/v1/outcomes", {"params": {"since": NUL, "limit": HUGE}}),
    # monitors, decisions, settings versions
    ("POST", "/api/metacognition/v1/proposals/00000000-0000-0000-0000-000000000000/approve", {"json": {"note": NUL}}),
    ("POST", "/api/metacognition/v1/proposals/not-a-uuid/reject", {"json": {"note": "x"}}),
    ("POST", "/api/metacognition/v1/proposals/00000000-0000-0000-0000-000000000000/apply", {}),
    ("POST", "/api/metacognition/v1/proposals/threshold", {"json": {"target_risk": HUGE}}),
    ("POST", "/api/metacognition/v1/settings/versions/99999999999999999999/restore", {"json": {"note": "x"}}),
    ("POST", "/api/metacognition/v1/settings/versions/1/restore", {"json": {"note": "x" * 5000}}),
    ("GET", "/api/metacognition/v1/alerts", {"params": {"status": NUL, "limit": HUGE}}),
]


@pytest.mark.parametrize(("method", "path", "request_args"), CASES,
                         ids=[f"{i:02d} {m} {p}" for i, (m, p, _) in enumerate(CASES)])
def test_hostile_input_is_a_4xx_with_a_reason(platform: Platform, method: str, path: str,
                                              request_args: dict[str, Any]) -> None:
    headers = {**auth(platform.admin_key), **request_args.pop("headers", {})}
    with httpx.Client(base_url=platform.url, headers=headers, timeout=120) as client:
        response = client.request(method, path, **request_args)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.json()["detail"], response.text[:300]
