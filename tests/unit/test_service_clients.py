"""The typed clients' shared behaviour, over a fake transport (the called service is faked at the
HTTP boundary): the credential goes as the bearer, refusals come back as domain errors, a 5xx or a
body that breaks the contract is ServiceAnswered (a 503), never a KeyError later."""

from __future__ import annotations

import json

import httpx
import pytest

from sutazai.lib.clients.base import ServiceAnswered, ServiceRefused
from sutazai.lib.clients.reasoning import ReasoningClient
from sutazai.lib.errors import BadRequest, Forbidden, NotFound, Unauthenticated
from sutazai.lib.http_client import ResilientClient


def fake_reasoning(status: int, body: object) -> tuple[ReasoningClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=json.dumps(body).encode(),
                              headers={"content-type": "application/json"})

    http = ResilientClient("http://reasoning.test", name="reasoning", attempts=1,
                           transport=httpx.MockTransport(answer))
    return ReasoningClient(http), seen


async def test_the_answer_is_parsed_and_the_credential_is_the_bearer() -> None:
    client, seen = fake_reasoning(200, {"routes": {"synthesize": "m"}, "models": ["m"]})
    routes = await client.routes(credential="szk_key")
    assert routes.routes == {"synthesize": "m"} and routes.models == ["m"]
    assert seen[0].url.path == "/api/reasoning/v1/routes" and seen[0].headers["Authorization"] == "Bearer szk_key"


@pytest.mark.parametrize(("status", "error"), [(400, BadRequest), (401, Unauthenticated), (403, Forbidden),
                                               (404, NotFound), (422, BadRequest), (409, ServiceRefused),
                                               (500, ServiceAnswered)])
async def test_each_status_is_its_domain_error_with_the_callees_detail(status: int, error: type[Exception]) -> None:
    client, _ = fake_reasoning(status, {"detail": "not your collection"})
    with pytest.raises(error) as raised:
        await client.routes(credential="k")
    assert "not your collection" in str(raised.value)


async def test_a_body_that_breaks_the_contract_is_a_dependency_error() -> None:
    client, _ = fake_reasoning(200, {"models": ["m"]})  # no "routes"
    with pytest.raises(ServiceAnswered, match="does not match its contract"):
        await client.routes(credential="k")
