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

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/identity/v1/keys", {"json": {"name": NUL}}),
    ("POST", "/api/knowledge/v1/documents", {"json": {"text": f"Some text {NUL}", "source": "nul.txt"}}),
    ("GET", "/api/knowledge/v1/search", {"params": {"q": NUL}}),
    ("GET", "/api/knowledge/v1/documents", {"params": {"offset": HUGE}}),
    ("GET", f"/api/knowledge/v1/documents/{HUGE}/jobs", {"params": {"q": NUL}}),
    ("GET", "/api/knowledge/v1/documents/%00/jobs", {"params": {}}),
    ("POST", "/api/reasoning/v1/ask", {"json": {"question": f"What is 2 + 2? {NUL}"}}),
    ("POST", "/api/reasoning/v1/ask", {"json": {"question": "What is 2 + 2?", "options": {"seed": HUGE}}}),
    ("POST", "/api/reasoning/v1/ask", {"content": DEEP, "headers": {"content-type": "application/json"}}),
    ("POST", "/v1/chat/completions", {"json": {"model": "sutazai", "seed": HUGE,
                                              "messages": [{"role": "user", "content": "What is 2 + 2?"}]}}),
    ("POST", "/api/learning/v1/feedback", {"json": {"trace_id": "00000000-0000-0000-0000-000000000000",
                                                    "rating": "up", "comment": NUL}}),
    ("POST", "/api/learning/v1/feedback", {"content": DEEP, "headers": {"content-type": "application/json"}}),
]


@pytest.mark.parametrize(("method", "path", "request_args"), CASES,
                         ids=[f"{m} {p} {next(iter(a.values()))!s:.20}" for m, p, a in CASES])
def test_hostile_input_is_a_4xx_with_a_reason(platform: Platform, method: str, path: str,
                                              request_args: dict[str, Any]) -> None:
    headers = {**auth(platform.admin_key), **request_args.pop("headers", {})}
    with httpx.Client(base_url=platform.url, headers=headers, timeout=120) as client:
        response = client.request(method, path, **request_args)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.json()["detail"], response.text[:300]
