"""One error model for every service: domain errors rendered as problem+json (RFC 9457)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sutazai.lib.context import current_request_id

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class ErrorCode(StrEnum):
    """Every error the platform reports: its stable code, HTTP status and title (the problem's
    `title`, called `phrase` here as in http.HTTPStatus), together."""

    status: int
    phrase: str

    def __new__(cls, code: str, status: int, phrase: str) -> ErrorCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.status, member.phrase = status, phrase
        return member

    bad_request = "bad_request", 400, "Bad request"
    validation_failed = "validation_failed", 422, "Request validation failed"
    unauthenticated = "unauthenticated", 401, "Authentication required"
    forbidden = "forbidden", 403, "Forbidden"
    not_found = "not_found", 404, "Not found"
    method_not_allowed = "method_not_allowed", 405, "Method not allowed"
    conflict = "conflict", 409, "Conflict"
    payload_too_large = "payload_too_large", 413, "Payload too large"
    unsupported_media_type = "unsupported_media_type", 415, "Unsupported media type"
    rate_limited = "rate_limited", 429, "Too many requests"
    account_locked = "account_locked", 423, "Account locked"
    budget_exhausted = "budget_exhausted", 422, "The request's budget ran out"
    dependency_unavailable = "dependency_unavailable", 503, "A dependency is unavailable"
    dependency_timeout = "dependency_timeout", 504, "A dependency did not answer in time"
    model_unavailable = "model_unavailable", 503, "The model backend is unavailable"
    model_output_invalid = "model_output_invalid", 502, "The model produced invalid output"
    internal_error = "internal_error", 500, "Internal error"


class SutazaiError(Exception):
    """Base of every domain error; its code carries the HTTP status and title."""

    code: ErrorCode = ErrorCode.internal_error

    def __init__(
        self,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return self.code.status


class BadRequest(SutazaiError):
    code = ErrorCode.bad_request


class ValidationFailed(SutazaiError):
    code = ErrorCode.validation_failed


class Unauthenticated(SutazaiError):
    code = ErrorCode.unauthenticated

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(SutazaiError):
    code = ErrorCode.forbidden


class NotFound(SutazaiError):
    code = ErrorCode.not_found


class Conflict(SutazaiError):
    code = ErrorCode.conflict


class PayloadTooLarge(SutazaiError):
    code = ErrorCode.payload_too_large


class UnsupportedMediaType(SutazaiError):
    code = ErrorCode.unsupported_media_type


class RateLimited(SutazaiError):
    """Too many requests (or failed sign-ins) in a window; retry after the given seconds."""

    code = ErrorCode.rate_limited

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class AccountLocked(SutazaiError):
    """Too many failed sign-ins for one account: it is locked for a while (or until an admin unlocks it)."""

    code = ErrorCode.account_locked

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class BudgetExhausted(SutazaiError):
    """A request used up its budget of steps, tokens or seconds before it could finish."""

    code = ErrorCode.budget_exhausted


class DependencyUnavailable(SutazaiError):
    code = ErrorCode.dependency_unavailable

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class DependencyTimeout(DependencyUnavailable):
    """A backend was reachable but did not finish in time (statement or query timeout)."""

    code = ErrorCode.dependency_timeout


class ModelUnavailable(DependencyUnavailable):
    code = ErrorCode.model_unavailable


class ModelOutputInvalid(SutazaiError):
    code = ErrorCode.model_output_invalid


ErrorMapping = Sequence[tuple[type[BaseException], Callable[[Any], SutazaiError | None]]]
"""(third-party exception type, factory of the domain error); a factory may return None to
leave an error of that type to the next entries (for errors told apart by their message)."""


def translate(exc: BaseException, mapping: ErrorMapping) -> SutazaiError | None:
    """The domain error of the first entry that matches `exc` and accepts it, if any."""
    for kind, make in mapping:
        if isinstance(exc, kind):
            found = make(exc)
            if found is not None:
                return found
    return None


@contextmanager
def translated(mapping: ErrorMapping) -> Iterator[None]:
    """Re-raise a third-party error as the most specific domain error its mapping names.

    Each backend module keeps one mapping, most specific exception type first (as httpx's
    `map_httpcore_exceptions`); domain errors and unmapped errors pass through unchanged."""
    try:
        yield
    except SutazaiError:
        raise
    except Exception as exc:
        domain = translate(exc, mapping)
        if domain is None:
            raise
        raise domain from exc


def problem(
    status: int, code: ErrorCode, detail: str, *, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://sutazai.local/problems/{code.value}",
        "title": code.phrase,
        "status": status,
        "code": code.value,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


OPENAI_PREFIX = "/v1/"


def _response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    if str(body.get("instance", "")).startswith(OPENAI_PREFIX):
        # OpenAI-compatible clients read errors from an `error` object; the problem fields stay
        body["error"] = {"message": body["detail"], "type": body["code"], "code": body["code"], "param": None}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_response(exc: SutazaiError, *, instance: str) -> JSONResponse:
    """The problem+json response of a domain error: what every handler and middleware sends."""
    body = problem(exc.status, exc.code, exc.detail, instance=instance, **exc.extra)
    return _response(exc.status, body, exc.headers)


_STATUS_CODES = {code.status: code for code in reversed(ErrorCode)}  # the first code of each status


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as problem+json with a stable code."""

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, SutazaiError):  # pragma: no cover - registered for this type
            raise exc
        return problem_response(exc, instance=request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RequestValidationError):  # pragma: no cover
            raise exc
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"] if part != "body") or "request"
        detail = f"{where}: {first['msg']}"
        body = problem(422, ErrorCode.validation_failed, detail, instance=request.url.path, errors=errors)
        return _response(422, body)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
            raise exc
        code = _STATUS_CODES.get(exc.status_code, ErrorCode.bad_request)
        detail = str(exc.detail) if exc.detail else code.phrase
        if exc.status_code == 404 and exc.detail == "Not Found":
            detail = f"no endpoint at {request.method} {request.url.path}"
        body = problem(exc.status_code, code, detail, instance=request.url.path)
        return _response(exc.status_code, body, dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        body = problem(500, ErrorCode.internal_error, "an unexpected error occurred; see the "
                       "service log for this request id", instance=request.url.path)
        return _response(500, body)

    app.add_exception_handler(SutazaiError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
