"""Request-scoped context (request id, service) shared by logs, errors and the HTTP client."""

from __future__ import annotations

from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("sutazai_request_id", default=None)
_service: ContextVar[str | None] = ContextVar("sutazai_service", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def current_service() -> str | None:
    return _service.get()


def bind_request(request_id: str, service: str) -> tuple[object, object]:
    """Bind the ids for the current task; returns tokens for `unbind_request`."""
    return _request_id.set(request_id), _service.set(service)


def unbind_request(tokens: tuple[object, object]) -> None:
    rid, svc = tokens
    _request_id.reset(rid)  # type: ignore[arg-type]
    _service.reset(svc)  # type: ignore[arg-type]
