"""A resilient HTTP client for service-to-service calls: timeouts, retries on transient
errors only, and a circuit breaker per target."""

from __future__ import annotations

import logging
import math
import os
import ssl
from types import TracebackType
from typing import Any

import httpx
import pybreaker
from opentelemetry import propagate
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from sutazai.lib.context import current_request_id
from sutazai.lib.errors import DependencyUnavailable

logger = logging.getLogger(__name__)
TRANSIENT_STATUS = {429, 502, 503, 504}


class TransientHTTPError(Exception):
    """A response worth retrying (rate limit or gateway/unavailable status)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.request.method} {response.request.url} -> {response.status_code}")
        self.response = response


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, (httpx.TimeoutException, httpx.TransportError, TransientHTTPError))


class _WaitAsTold:
    """Wait as long as a 429's Retry-After asks (capped), else back off exponentially."""

    def __init__(self, cap: float) -> None:
        self._cap, self._backoff = cap, wait_exponential(multiplier=0.2, max=2.0)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, TransientHTTPError) and exc.response.status_code == 429:
            try:
                told = float(exc.response.headers.get("Retry-After", ""))
            except ValueError:
                told = 0.0
            if told > 0:
                return min(told, self._cap)
        return float(self._backoff(state))


class ClientClosedError(RuntimeError):
    """The client was used after close()."""


def internal_ca() -> ssl.SSLContext | bool:
    """What HTTPS between services trusts: the internal CA in SUTAZAI_TLS_CA_FILE (Compose: Vault's
    PKI root, written by vault/init.sh), else the system's CAs."""
    path = os.environ.get("SUTAZAI_TLS_CA_FILE")
    return ssl.create_default_context(cafile=path) if path else True


class ResilientClient:
    """httpx.AsyncClient with bounded retries and a circuit breaker.

    After `failure_threshold` consecutive failures the breaker opens for `reset_seconds`,
    and calls fail fast with DependencyUnavailable (503 with Retry-After) instead of waiting.
    """

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        timeout: float = 10.0,
        attempts: int = 3,
        failure_threshold: int = 5,
        reset_seconds: float = 30,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_after_cap: float = 2.0,
    ) -> None:
        """`retry_after_cap`: the longest a retry waits when a 429 says how long to (a caller that
        sends many requests in a row, e.g. tuning over a suite, sets it to a minute)."""
        self.name = name
        self._wait = _WaitAsTold(retry_after_cap)
        # trust_env=False: calls between services never go through a proxy named in the environment
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport,
                                         verify=internal_ca(), trust_env=False)
        self._attempts = attempts
        self._reset_seconds = reset_seconds
        self.breaker = pybreaker.CircuitBreaker(fail_max=failure_threshold, reset_timeout=reset_seconds)
        self._closed = False

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self._closed:
            raise ClientClosedError(f"HTTP client for {self.name} is closed")
        # No check of the state here: pybreaker moves an open breaker to half-open only when a
        # call is attempted after reset_seconds, so refusing before calling kept it open for good.
        headers = dict(kwargs.pop("headers", None) or {})
        propagate.inject(headers)
        request_id = current_request_id()
        if request_id:
            headers.setdefault("x-request-id", request_id)
        try:
            with self.breaker.calling():
                return await self._with_retries(method, url, headers=headers, **kwargs)
        except pybreaker.CircuitBreakerError as exc:
            raise DependencyUnavailable(
                f"{self.name} is unavailable (circuit open after repeated failures; retried after "
                f"{self._reset_seconds:g} s)", retry_after=max(1, math.ceil(self._reset_seconds)),
            ) from exc
        except (httpx.HTTPError, TransientHTTPError) as exc:
            raise DependencyUnavailable(f"{self.name} did not answer: {exc}") from exc

    async def _with_retries(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception(_is_transient),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                response = await self._client.request(method, url, **kwargs)
                if response.status_code in TRANSIENT_STATUS:
                    raise TransientHTTPError(response)
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._client.aclose()

    async def __aenter__(self) -> ResilientClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
