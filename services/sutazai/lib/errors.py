"""One error model for every service: domain errors rendered as problem+json (RFC 9457)."""

from __future__ import annotations

import logging
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
    bad_request = "bad_request"
    validation_failed = "validation_failed"
    unauthenticated = "unauthenticated"
    forbidden = "forbidden"
    not_found = "not_found"
    method_not_allowed = "method_not_allowed"
    conflict = "conflict"
    payload_too_large = "payload_too_large"
    unsupported_media_type = "unsupported_media_type"
    rate_limited = "rate_limited"
    budget_exhausted = "budget_exhausted"
    dependency_unavailable = "dependency_unavailable"
    model_unavailable = "model_unavailable"
    model_output_invalid = "model_output_invalid"
    internal_error = "internal_error"


_TITLES = {
    ErrorCode.bad_request: "Bad request",
    ErrorCode.validation_failed: "Request validation failed",
    ErrorCode.unauthenticated: "Authentication required",
    ErrorCode.forbidden: "Forbidden",
    ErrorCode.not_found: "Not found",
    ErrorCode.method_not_allowed: "Method not allowed",
    ErrorCode.conflict: "Conflict",
    ErrorCode.payload_too_large: "Payload too large",
    ErrorCode.unsupported_media_type: "Unsupported media type",
    ErrorCode.rate_limited: "Too many requests",
    ErrorCode.budget_exhausted: "The request's budget ran out",
    ErrorCode.dependency_unavailable: "A dependency is unavailable",
    ErrorCode.model_unavailable: "The model backend is unavailable",
    ErrorCode.model_output_invalid: "The model produced invalid output",
    ErrorCode.internal_error: "Internal error",
}


class SutazaiError(Exception):
    """Base of every domain error; carries a stable code and an HTTP status."""

    code: ErrorCode = ErrorCode.internal_error
    status: int = 500

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


class BadRequest(SutazaiError):
    code, status = ErrorCode.bad_request, 400


class ValidationFailed(SutazaiError):
    code, status = ErrorCode.validation_failed, 422


class Unauthenticated(SutazaiError):
    code, status = ErrorCode.unauthenticated, 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(SutazaiError):
    code, status = ErrorCode.forbidden, 403


class NotFound(SutazaiError):
    code, status = ErrorCode.not_found, 404


class Conflict(SutazaiError):
    code, status = ErrorCode.conflict, 409


class PayloadTooLarge(SutazaiError):
    code, status = ErrorCode.payload_too_large, 413


class UnsupportedMediaType(SutazaiError):
    code, status = ErrorCode.unsupported_media_type, 415


class BudgetExhausted(SutazaiError):
    """A request used up its budget of steps, tokens or seconds before it could finish."""

    code, status = ErrorCode.budget_exhausted, 422


class DependencyUnavailable(SutazaiError):
    code, status = ErrorCode.dependency_unavailable, 503

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ModelUnavailable(DependencyUnavailable):
    code = ErrorCode.model_unavailable


class ModelOutputInvalid(SutazaiError):
    code, status = ErrorCode.model_output_invalid, 502


def problem(
    status: int, code: ErrorCode, detail: str, *, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://sutazai.local/problems/{code.value}",
        "title": _TITLES[code],
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


_STATUS_CODES = {
    400: ErrorCode.bad_request,
    401: ErrorCode.unauthenticated,
    403: ErrorCode.forbidden,
    404: ErrorCode.not_found,
    405: ErrorCode.method_not_allowed,
    409: ErrorCode.conflict,
    413: ErrorCode.payload_too_large,
    415: ErrorCode.unsupported_media_type,
    429: ErrorCode.rate_limited,
    503: ErrorCode.dependency_unavailable,
}


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as problem+json with a stable code."""

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, SutazaiError):  # pragma: no cover - registered for this type
            raise exc
        body = problem(exc.status, exc.code, exc.detail, instance=request.url.path, **exc.extra)
        return _response(exc.status, body, exc.headers)

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
        detail = str(exc.detail) if exc.detail else _TITLES[code]
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
