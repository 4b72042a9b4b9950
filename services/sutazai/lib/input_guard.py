"""Hostile input stopped at the door of every service, with a 4xx that says what to fix, before
any route, database or parser sees it:

- a NUL character (which PostgreSQL refuses in text) or a lone UTF-16 surrogate (which no UTF-8
  encoder accepts) in a query parameter, a path, or any string or key of a JSON body;
- JSON nested deeper than `MAX_JSON_DEPTH` (deep nesting made Python's parser recurse until it
  failed, a 500) or larger than the service's `max_json_bytes` (413).

A JSON body is read once, checked, and handed on unchanged to the app. Multipart uploads are left
to the routes (their text fields are checked there with `check_text`)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sutazai.lib.errors import PayloadTooLarge, SutazaiError, ValidationFailed, problem_response

MAX_JSON_DEPTH = 64
_BAD_CHARACTER = re.compile(r"[\x00\ud800-\udfff]")
_DEPTH_CHARS = re.compile(rb'[\[\]{}"\\]')


def check_text(where: str, value: str) -> str:
    """`value`, unless it holds a NUL or a lone surrogate: then ValidationFailed naming `where`."""
    found = _BAD_CHARACTER.search(value)
    if found is None:
        return value
    what = "a NUL character (\\u0000)" if found.group() == "\x00" else \
        f"a lone surrogate (\\u{ord(found.group()):04x}, not a character in UTF-8)"
    raise ValidationFailed(f"{where} contains {what} at position {found.start()}; remove it")


def json_depth(body: bytes) -> int:
    """How deep the JSON text nests, counted without parsing it (strings skipped), so that a
    body too deep to parse is refused before the parser recurses."""
    depth = deepest = 0
    in_string = False
    skip = -1  # the position of a character escaped by a backslash
    for match in _DEPTH_CHARS.finditer(body):
        if match.start() == skip:
            continue
        char = match.group()
        if in_string:
            if char == b"\\":
                skip = match.end()
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


def check_json(value: Any, where: str = "body") -> None:
    """Every key and string in a parsed JSON value, checked with `check_text`."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            check_text(path, item)
        elif isinstance(item, dict):
            for key, child in item.items():
                check_text(f"{path} key", key)
                stack.append((f"{path}.{key}", child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind: bytes = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return False


class InputGuardMiddleware:
    """Pure ASGI middleware applying the checks above to every HTTP request."""

    def __init__(self, app: ASGIApp, *, max_json_bytes: int) -> None:
        self.app, self.max_json_bytes = app, max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_url(scope)
            if _is_json(scope) and scope["method"] in ("POST", "PUT", "PATCH"):
                body = await self._read(receive)
                self._check_body(body)
                receive = _replay(body, receive)
        except SutazaiError as exc:
            await _refuse(scope, receive, send, exc)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _check_url(scope: Scope) -> None:
        """A NUL in the path or a query parameter (invalid UTF-8 there is already decoded as
        U+FFFD by the server, harmless)."""
        if "\x00" in scope["path"]:
            raise ValidationFailed("the path contains a NUL character (%00); remove it")
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
            if "\x00" in name or "\x00" in value:
                raise ValidationFailed(f"query parameter {name.replace(chr(0), '')[:40]!r} contains a NUL "
                                       "character (%00); remove it")

    async def _read(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_json_bytes:
                raise PayloadTooLarge(f"a JSON body may be at most {self.max_json_bytes:,} bytes; send large "
                                      "documents as a multipart file upload")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _check_body(body: bytes) -> None:
        depth = json_depth(body)
        if depth > MAX_JSON_DEPTH:
            raise ValidationFailed(f"the JSON body nests {depth} levels deep; at most {MAX_JSON_DEPTH} are "
                                   "allowed")
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return  # malformed JSON: the route's own parser reports where
        check_json(parsed)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then the client's own messages (a streaming response listens for the
    disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: SutazaiError) -> None:
    await problem_response(exc, instance=scope["path"])(scope, receive, send)
