"""A new user's path to an answer: ingest a small corpus, then `sutazai ask` a question that
needs a calculation and one that needs two documents; read the trace back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import cli_stack
from tests.e2e.stack import CliStack
from tests.integration.test_reasoning_pipeline import CORPUS

DOCS = CORPUS  # the same three documents as the integration tests


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CliStack, str]]:
    with cli_stack(tmp_path_factory.mktemp("ask")) as cli:
        key = cli.create_key("user")
        folder = tmp_path_factory.mktemp("firms")
        for name, text in DOCS.items():
            (folder / name).write_text(text)
        ingested = cli.run("ingest", str(folder), extra=("--key", key, "--collection", "firms"))
        assert ingested.returncode == 0, ingested.stdout + ingested.stderr
        yield cli, key


def test_ask_a_calculation(stack: tuple[CliStack, str]) -> None:
    cli, key = stack
    result = cli.run("ask", "What is 1234 * 5678 - 2?", extra=("--key", key))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().startswith("7006650")
    assert "calculator" in result.stderr and "plan" in result.stderr  # the steps as they ran
    assert "confidence 1.00" in result.stdout


def test_ask_a_question_that_needs_two_documents(stack: tuple[CliStack, str]) -> None:
    cli, key = stack
    result = cli.run("ask", "How many more employees does Orvane Systems have than Kestrel Biotech?",
                     extra=("--key", key, "--collection", "firms"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().startswith("855")
    answer = result.stdout.split("Sources")[0]
    assert "people.\u201d [1]" in answer and "people.\u201d [2]" in answer and "[unsupported]" not in answer
    sources = result.stdout.split("Sources")[1]
    assert "orvane.txt" in sources and "kestrel.txt" in sources and "lumen.txt" not in sources
    trace_id = result.stdout.rsplit("trace ", 1)[1].split()[0]
    with httpx.Client(base_url=cli.url, headers={"Authorization": f"Bearer {key}"}) as client:
        trace = client.get(f"/api/reasoning/v1/traces/{trace_id}").json()
    assert trace["status"] == "answered" and trace["answer"].startswith("855")
    assert {s["tool"] for s in trace["steps"]} >= {"planner", "search", "extract_value", "calculator", "verify"}


def test_ask_json_and_errors(stack: tuple[CliStack, str]) -> None:
    cli, key = stack
    result = cli.run("ask", "What is 2 + 2?", extra=("--key", key, "--json"))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["answer"].startswith("4") and body["confidence"] == 1.0 and body["trace_id"]
    unknown = cli.run("ask", "Who?", extra=("--key", key, "--collection", "nosuch"))
    assert unknown.returncode == 1 and "unknown collection 'nosuch'" in unknown.stderr
    empty = cli.run("ask", "  ", extra=("--key", key))
    assert empty.returncode == 1 and "question is empty" in empty.stderr
