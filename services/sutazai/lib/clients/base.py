"""What every typed client shares: the asking person's credential as the bearer, the callee's
refusals as the same domain errors (401 Unauthenticated, 403 Forbidden, 404 NotFound, 400/422
BadRequest, another 4xx ServiceRefused), a 5xx as ServiceAnswered (DependencyUnavailable), and the
answer parsed into the contract's model (a body that does not match it is ServiceAnswered too,
never a KeyError three calls later)."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from sutazai.lib.errors import (
    BadRequest,
    DependencyUnavailable,
    ErrorCode,
    Forbidden,
    NotFound,
    SutazaiError,
    Unauthenticated,
)
from sutazai.lib.http_client import ResilientClient

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class ServiceAnswered(DependencyUnavailable):
    """The called service answered with a status (or a body) its contract does not promise."""

    def __init__(self, service: str, status: int, detail: str) -> None:
        super().__init__(f"the {service} service answered {status}: {detail}")
        self.service, self.status_code, self.reason = service, status, detail


class ServiceRefused(SutazaiError):
    """The called service refused the request with a 4xx its contract does not name (the request,
    not the service, is at fault: retrying will not help)."""

    code = ErrorCode.bad_request


_REFUSALS: dict[int, type[SutazaiError]] = {400: BadRequest, 401: Unauthenticated, 403: Forbidden, 404: NotFound,
                                            422: BadRequest}


def detail_of(response: httpx.Response) -> str:
    """The problem's detail (problem+json), else the start of the body, else the reason phrase."""
    if not response.content:
        return response.reason_phrase
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"])
    return response.text[:200]


class ServiceClient:
    """Base of the typed clients: `service` names the callee in errors."""

    service = "?"

    def __init__(self, http: ResilientClient) -> None:
        self.http = http

    async def call(self, method: str, path: str, *, credential: str | None, ok: tuple[int, ...] = (200,),
                   **kwargs: Any) -> httpx.Response:
        """The response when its status is one of `ok`; raises the domain error otherwise.
        Transport failures and an open circuit raise DependencyUnavailable (ResilientClient)."""
        headers = dict(kwargs.pop("headers", None) or {})
        if credential is not None:
            headers["Authorization"] = f"Bearer {credential}"
        response = await self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code in ok:
            return response
        if response.status_code in _REFUSALS:
            raise _REFUSALS[response.status_code](detail_of(response))
        if 400 <= response.status_code < 500:
            raise ServiceRefused(f"the {self.service} service refused the request ({response.status_code}): "
                                 f"{detail_of(response)}")
        raise ServiceAnswered(self.service, response.status_code, detail_of(response))

    def parse(self, response: httpx.Response, model: type[M]) -> M:
        return self.parse_as(response, model)

    def parse_as(self, response: httpx.Response, kind: type[T]) -> T:
        """The body parsed as the contract's type (a model, list[Model], ...)."""
        try:
            return TypeAdapter(kind).validate_json(response.content)
        except ValidationError as exc:
            raise ServiceAnswered(self.service, response.status_code,
                                  f"a body that does not match its contract: {exc.errors()[0]['msg']}") from exc
