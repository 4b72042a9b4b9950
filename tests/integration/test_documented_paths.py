"""Every API path the README and the docs name exists: each is requested (GET, with an admin key,
placeholders filled in) and must reach an endpoint — any answer but the router's own "no endpoint
at ..." 404, and never a server error. A wrong path in the docs (a renamed route, a stale prefix)
fails here."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Platform
from tests.integration.knowledge_helpers import auth

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PATH = re.compile(r"(?<![A-Za-z_])(/(?:api/[a-z]+/(?:v1|readyz|healthz|livez)|v1|web/v1)(?:/[^\s`'\")\]<>{},;|/]+"
                  r"|/<[a-z_]+>|/\{[a-z_]+\})*)")
PLACEHOLDER = re.compile(r"<([a-z_]+)>|\{([a-z_]+)\}")
BASES = {"/v1", "/web/v1"}
"""base URLs (an OpenAI client's), not endpoints"""
SAMPLES = {"version": "1", "name": "sample", "suite": "sample", "kind": "synthesize", "hops": "1"}


def documented() -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for document in DOCUMENTS:
        for match in PATH.finditer(document.read_text()):
            path = match.group(1).rstrip(".:")
            if path not in BASES:
                found.setdefault(path, document.name)
    return sorted(found.items())


def filled(path: str) -> str:
    def sample(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return SAMPLES.get(name, str(uuid.UUID(int=1)))

    return PLACEHOLDER.sub(sample, path)


def test_the_docs_name_api_paths() -> None:
    paths = [p for p, _ in documented()]
    assert len(paths) >= 20 and any(p.startswith("/v1/") for p in paths)


@pytest.mark.parametrize(("path", "where"), documented())
def test_each_documented_path_reaches_an_endpoint(platform: Platform, path: str, where: str) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=60) as admin:
        response = admin.get(filled(path))
    if response.status_code == 404:
        assert not response.json().get("detail", "").startswith("no endpoint at"), \
            f"{where} names {path}, which no service answers"
    # a path that exists answers a GET with its result or a clear refusal (405 when it takes another
    # method, 404 for the sample id, 422 for a missing parameter), never a server error
    assert response.status_code < 500, f"{where} names {path}: GET {filled(path)} -> {response.status_code} " \
                                       f"{response.text[:300]}"
