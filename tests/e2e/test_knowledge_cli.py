"""A new user's path through the CLI: ingest a folder with a progress bar, search it, see
duplicates skipped and a bad file reported with its reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import cli_stack
from tests.e2e.stack import CliStack
from tests.unit.knowledge.test_parsing_chunking import MARKDOWN, pdf_bytes


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliStack]:
    with cli_stack(tmp_path_factory.mktemp("kn")) as cli:
        yield cli


def corpus(root: Path) -> Path:
    folder = root / "docs"
    (folder / "policies").mkdir(parents=True)
    (folder / "policies" / "handbook.md").write_bytes(MARKDOWN)
    (folder / "report.pdf").write_bytes(pdf_bytes(["The audit found three open findings.", "All closed by June."]))
    (folder / "faq.txt").write_text("Printers are on every floor next to the kitchen.")
    (folder / "diagram.gif").write_bytes(b"GIF89a")  # a type SutazAI does not read: skipped
    return folder


def test_ingest_a_folder_then_search_it(stack: CliStack, tmp_path: Path) -> None:
    key = stack.create_key("user")
    folder = corpus(tmp_path)
    result = stack.run("ingest", str(folder), extra=("--key", key, "--tag", "demo"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "indexing" in result.stderr and "graph" in result.stderr  # both stages' progress bars
    for name in ("handbook.md", "report.pdf", "faq.txt"):
        line = next(line for line in result.stdout.splitlines() if name in line)
        assert "searchable" in line and "read" in line, result.stdout  # indexed, and the graph read it
    assert "skipped" in next(line for line in result.stdout.splitlines() if "diagram.gif" in line)

    found = stack.run("search", "where are the printers", extra=("--key", key))
    assert found.returncode == 0 and "docs/faq.txt" in found.stdout and "kitchen" in found.stdout
    as_json = json.loads(stack.run("search", "audit findings", extra=("--key", key, "--json")).stdout)
    top = as_json["hits"][0]
    assert top["source"] == "docs/report.pdf" and top["page"] == 1

    again = stack.run("ingest", str(folder), extra=("--key", key))
    assert again.returncode == 0 and again.stdout.count("duplicate") == 3


def test_a_bad_file_is_reported_with_its_reason(stack: CliStack, tmp_path: Path) -> None:
    key = stack.create_key("user")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 this is not a pdf")
    result = stack.run("ingest", str(tmp_path / "broken.pdf"), extra=("--key", key))
    assert result.returncode == 1
    assert "malformed" in result.stdout


def test_missing_key_and_missing_path_are_one_line_errors(stack: CliStack, tmp_path: Path) -> None:
    no_key = stack.run("ingest", str(tmp_path))
    assert no_key.returncode == 1 and "no API key" in no_key.stderr
    key = stack.create_key("user")
    missing = stack.run("ingest", str(tmp_path / "nope"), extra=("--key", key))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
