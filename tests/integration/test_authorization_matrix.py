"""The authorization matrix, generated from the OpenAPI documents (not hand-listed): for every
operation of every service, and each kind of caller,

- no credential                                  -> 401 (every operation but the probes);
- a user key                                     -> 403 on operations that need an admin (`x-sutazai-roles`);
- an admin limited to a collection               -> 403 on platform-wide operations (`x-sutazai-unrestricted`);
- a key limited to collection A, naming B        -> 403 on operations that take a `collection` parameter;
- a key limited to A on A, an admin on anything  -> never 401/403 for those reasons.

A new route is covered as soon as it is served."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Platform, create_key

SERVICES = ("identity", "knowledge", "reasoning", "learning", "metacognition")
PROBES = ("/healthz", "/readyz", "/metrics")


def _operations(platform: Platform) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for service in SERVICES:
        schema = httpx.get(f"{platform.url}/api/{service}/openapi.json", timeout=30).json()
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                yield method.upper(), path, operation


def _concrete(path: str) -> str:
    """A path with every parameter filled (with an id that names nothing)."""
    parts = [str(uuid.uuid4()) if p.startswith("{") else p for p in path.split("/")]
    return "/".join(parts)


def _required_query(operation: dict[str, Any]) -> dict[str, Any]:
    """A value for every required query parameter, from its schema (so that the collection check
    is what decides, not a missing parameter)."""
    values: dict[str, Any] = {}
    for param in operation.get("parameters", []):
        if param.get("in") != "query" or not param.get("required"):
            continue
        schema = param.get("schema", {})
        kinds = [schema, *schema.get("anyOf", [])]
        if any(k.get("format") == "uuid" for k in kinds):
            values[param["name"]] = str(uuid.uuid4())
        elif any(k.get("type") == "integer" for k in kinds):
            values[param["name"]] = max(1, int(schema.get("minimum", 1)))
        else:
            values[param["name"]] = "x"
    return values


def _call(platform: Platform, method: str, path: str, key: str | None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") and "json" not in kwargs else {}
    return httpx.request(method, f"{platform.url}{_concrete(path)}", headers=headers, timeout=60, **body, **kwargs)


@pytest.fixture(scope="module")
def callers(platform: Platform) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    a = f"matrix-a-{tag}"
    return {
        "collection": a, "other": f"matrix-b-{tag}",
        "user": asyncio.run(create_key(platform.backends, "user")),
        "scoped_user": asyncio.run(create_key(platform.backends, "user", [a])),
        "scoped_admin": asyncio.run(create_key(platform.backends, "admin", [a])),
    }


def test_the_matrix_holds_for_every_operation(platform: Platform, callers: dict[str, str]) -> None:
    wrong: list[str] = []
    checked = 0
    for method, path, operation in _operations(platform):
        if path.endswith(PROBES):
            continue
        checked += 1
        if operation.get("security") == []:  # sign-in: proves identity itself, refuses what is not a proof
            public = _call(platform, method, path, None, json={"username": "nobody-x", "password": "wrong"})
            allowed = (200,) if method == "GET" else (401, 404, 422)  # a GET lists the sign-in options only
            if public.status_code not in allowed:
                wrong.append(f"{method} {path} (public sign-in) with a wrong proof: {public.status_code}")
            continue
        roles = operation.get("x-sutazai-roles") or []
        unrestricted = operation.get("x-sutazai-unrestricted", False)
        anonymous = _call(platform, method, path, None)
        if anonymous.status_code != 401:
            wrong.append(f"{method} {path} without a credential: {anonymous.status_code}")
        as_user = _call(platform, method, path, callers["user"])
        if "admin" in roles and as_user.status_code != 403:
            wrong.append(f"{method} {path} needs an admin; a user key got {as_user.status_code}")
        if not roles and as_user.status_code in (401, 403):
            wrong.append(f"{method} {path} is open to users; a user key got {as_user.status_code}: "
                         f"{as_user.text[:120]}")
        as_scoped_admin = _call(platform, method, path, callers["scoped_admin"])
        if unrestricted and as_scoped_admin.status_code != 403:
            wrong.append(f"{method} {path} is platform-wide; a scoped admin got {as_scoped_admin.status_code}")
        names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        if "collection" in names and method == "GET":
            base = _required_query(operation)
            scoped = callers["scoped_user"]
            other = _call(platform, method, path, scoped, params={**base, "collection": callers["other"]})
            if "admin" not in roles and other.status_code != 403:
                wrong.append(f"{method} {path} with another collection: {other.status_code}: {other.text[:120]}")
            own = _call(platform, method, path, scoped, params={**base, "collection": callers["collection"]})
            if not roles and own.status_code in (401, 403):
                wrong.append(f"{method} {path} on its own collection: {own.status_code}: {own.text[:120]}")
    assert checked > 30, checked
    assert not wrong, "\n".join(wrong)
