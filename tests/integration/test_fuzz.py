"""Schemathesis reads every service's OpenAPI document and generates requests, valid (schema-
conforming) and invalid (negative), for every operation of the running platform: none may be
answered with a 5xx other than a 503 (a dependency legitimately unavailable). Kept small per
operation so that `make test` stays inside CI's time; `SUTAZAI_FUZZ_EXAMPLES=200` turns the same
test into a longer hunt for 500s. (Schemathesis's pytest plugin does not run on pytest 9, so the
cases are drawn with its Python API and Hypothesis directly.)"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.integration.conftest import Platform, calibrators_removed_after

SERVICES = ("identity", "knowledge", "reasoning", "learning", "metacognition")
EXAMPLES = int(os.environ.get("SUTAZAI_FUZZ_EXAMPLES", "8"))
MODEL_BOUND = ("/ask", "/chat/completions", "/replay")  # each valid example runs the model: fewer


def _runner(operation: Any, mode: GenerationMode, *, bound: bool, url: str, headers: dict[str, str],
            sent: list[int], failures: list[str]) -> Any:
    """A Hypothesis test drawing requests for one operation; failures are collected, not raised,
    so that one run reports every operation that answered a server error."""

    @settings(max_examples=max(2, EXAMPLES // 4) if bound else EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        if bound and isinstance(case.body, dict):
            case.body["max_tokens"] = 8  # bound the model's work; the rest stays generated
        response = case.call(base_url=url, headers=headers, timeout=120)
        sent.append(response.status_code)
        if response.status_code >= 500 and response.status_code != 503:
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")

    return call


@pytest.fixture(scope="module", autouse=True)
def prior_after(platform: Platform) -> Iterator[None]:
    """A valid generated POST /calibrators fits one on the labels earlier tests left: removed after."""
    with calibrators_removed_after(platform):
        yield


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_generated_request_gets_a_server_error(platform: Platform, service: str, mode: GenerationMode) -> None:
    raw = httpx.get(f"{platform.url}/api/{service}/openapi.json", timeout=30).json()
    api = schemathesis.openapi.from_dict(raw)
    headers = {"Authorization": f"Bearer {platform.admin_key}"}
    failures: list[str] = []
    sent: list[int] = []
    # valid requests may change settings that later tests rely on (retrieval depth and weights): put them back
    kept = httpx.get(f"{platform.url}/api/reasoning/v1/retrieval", headers=headers, timeout=30).json()
    try:
        operations, tried = _fuzz(api, mode, platform, headers, sent, failures)
    finally:
        httpx.put(f"{platform.url}/api/reasoning/v1/retrieval", headers=headers, timeout=30, json=kept)
    assert operations > 0
    print(f"{service} {mode.value}: {operations} operations, {tried} tried, {len(sent)} requests, statuses "  # noqa: T201
          f"{sorted(set(sent))}")
    assert not failures, "\n".join(sorted(set(failures))[:20])


def _fuzz(api: Any, mode: GenerationMode, platform: Platform, headers: dict[str, str], sent: list[int],
          failures: list[str]) -> tuple[int, int]:
    operations = tried = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        bound = any(part in operation.path for part in MODEL_BOUND)

        call = _runner(operation, mode, bound=bound, url=platform.url, headers=headers, sent=sent,
                       failures=failures)
        try:
            call()
        except Unsatisfiable:  # nothing invalid can be made for it (e.g. no parameters, no body)
            continue
        tried += 1
    return operations, tried
