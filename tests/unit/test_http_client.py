"""ResilientClient against a fake transport (the interface boundary to the network)."""

import httpx
import pytest

from sutazai.lib.errors import DependencyUnavailable
from sutazai.lib.http_client import ClientClosedError, ResilientClient


def scripted(statuses: list[int]) -> tuple[httpx.MockTransport, list[int]]:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        status = statuses[min(len(seen) - 1, len(statuses) - 1)]
        return httpx.Response(status, json={"n": len(seen)}, request=request)

    return httpx.MockTransport(handler), seen


async def test_transient_errors_are_retried_then_succeed() -> None:
    transport, seen = scripted([503, 502, 200])
    async with ResilientClient("http://svc", name="svc", transport=transport, attempts=3) as client:
        response = await client.request("GET", "/x")
    assert response.status_code == 200 and len(seen) == 3


async def test_client_errors_are_not_retried() -> None:
    transport, seen = scripted([400])
    async with ResilientClient("http://svc", name="svc", transport=transport) as client:
        response = await client.request("GET", "/x")
    assert response.status_code == 400 and len(seen) == 1


async def test_breaker_opens_and_fails_fast_with_retry_after() -> None:
    transport, seen = scripted([503])
    client = ResilientClient("http://svc", name="svc", transport=transport, attempts=1,
                             failure_threshold=2, reset_seconds=30)
    for _ in range(2):
        with pytest.raises(DependencyUnavailable):
            await client.request("GET", "/x")
    calls = len(seen)
    with pytest.raises(DependencyUnavailable, match="circuit open") as info:
        await client.request("GET", "/x")
    assert len(seen) == calls  # failed fast, nothing sent
    assert info.value.headers["Retry-After"] == "30"
    await client.close()
    await client.close()  # idempotent
    with pytest.raises(ClientClosedError):
        await client.request("GET", "/x")


async def test_request_id_and_trace_context_are_propagated() -> None:
    captured: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        captured.update(request.headers)
        return httpx.Response(200, request=request)

    from sutazai.lib.context import bind_request, unbind_request

    tokens = bind_request("req-9", "svc")
    try:
        async with ResilientClient("http://svc", name="svc", transport=httpx.MockTransport(handler)) as c:
            await c.request("GET", "/x")
    finally:
        unbind_request(tokens)
    assert captured["x-request-id"] == "req-9"


async def test_an_open_breaker_half_opens_and_closes_once_the_target_is_back() -> None:
    """The review's finding: after the identity database came back, calls still failed with
    'circuit open' for minutes, since the state was checked before pybreaker could half-open."""
    import asyncio

    statuses = [503, 503]
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        return httpx.Response(statuses.pop(0) if statuses else 200, request=request)

    client = ResilientClient("http://svc", name="svc", transport=httpx.MockTransport(handler), attempts=1,
                             failure_threshold=2, reset_seconds=0.2)
    for _ in range(2):
        with pytest.raises(DependencyUnavailable):
            await client.request("GET", "/x")
    with pytest.raises(DependencyUnavailable, match="circuit open"):
        await client.request("GET", "/x")
    await asyncio.sleep(0.3)  # the breaker's reset period, not a timing measurement
    assert (await client.request("GET", "/x")).status_code == 200
    assert (await client.request("GET", "/x")).status_code == 200
    await client.close()


async def test_readiness_reports_an_open_circuit_to_identity() -> None:
    from sutazai.lib.identity_client import IdentityKeyVerifier

    transport, _ = scripted([503])
    client = ResilientClient("http://identity", name="identity service", transport=transport, attempts=1,
                             failure_threshold=1, reset_seconds=30)
    verifier = IdentityKeyVerifier(client, cache_seconds=0)
    await verifier.ready()
    with pytest.raises(DependencyUnavailable):
        await verifier.verify("szk_0123456789ab_" + "x" * 40)
    with pytest.raises(DependencyUnavailable, match="circuit to the identity service is open"):
        await verifier.ready()
    await client.close()


async def test_a_429_is_waited_out_as_its_retry_after_says_up_to_the_cap() -> None:
    import asyncio
    import time

    seen: list[float] = []
    told = {"seconds": "1"}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": told["seconds"]}, request=request)
        return httpx.Response(200, request=request)

    async with ResilientClient("http://svc", name="svc", transport=httpx.MockTransport(handler),
                               retry_after_cap=5.0) as patient:
        assert (await patient.request("GET", "/x")).status_code == 200
    assert len(seen) == 2 and seen[1] - seen[0] >= 0.9  # waited as told, not the 0.2 s backoff

    seen.clear()
    told["seconds"] = "3600"  # an hour: only the cap lets this finish within the bound below
    async with ResilientClient("http://svc", name="svc", transport=httpx.MockTransport(handler),
                               retry_after_cap=0.1) as hasty:
        assert (await asyncio.wait_for(hasty.request("GET", "/x"), 60)).status_code == 200
    assert len(seen) == 2
