"""The platform's service skeleton: problem+json errors, request ids, probes and metrics."""

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from sutazai.lib.errors import NotFound, ValidationFailed
from sutazai.lib.service_app import ServiceSpec, create_service_app


class Body(BaseModel):
    n: int


def make_app(down: bool = False) -> FastAPI:
    async def ok() -> None:
        return None

    async def broken() -> None:
        raise ConnectionRefusedError("connection refused")

    spec = ServiceSpec(name="demo", prefixes=("/api/demo",), description="demo",
                       readiness={"postgres": ok, "redis": broken if down else ok})
    app = create_service_app(spec)

    @app.get("/api/demo/v1/missing")
    async def missing() -> None:
        raise NotFound("no widget 7")

    @app.post("/api/demo/v1/items")
    async def items(body: Body) -> dict[str, int]:
        if body.n < 0:
            raise ValidationFailed("n must not be negative")
        return {"n": body.n}

    @app.get("/api/demo/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    return app


@pytest.fixture
def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_domain_error_is_problem_json_with_code_and_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/demo/v1/missing", headers={"x-request-id": "req-123"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_found"
    assert body["detail"] == "no widget 7"
    assert body["request_id"] == "req-123" == response.headers["x-request-id"]


async def test_validation_error_names_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/demo/v1/items", json={"n": "many"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert body["detail"].startswith("n:")
    assert (await client.post("/api/demo/v1/items", json={"n": -1})).json()["detail"] == "n must not be negative"


async def test_unexpected_error_hides_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/demo/v1/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "secret internals" not in response.text


async def test_unknown_route_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/demo/v1/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_probes_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/demo/healthz")).json()["status"] == "ok"
    ready = await client.get("/api/demo/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"postgres", "redis"}
    await client.get("/api/demo/v1/missing")
    metrics = (await client.get("/api/demo/metrics")).text
    expected = 'sutazai_http_requests_total{method="GET",route="/api/demo/v1/missing",service="demo",status="404"} 1.0'
    assert expected in metrics
    assert (await client.get("/api/demo/openapi.json")).json()["info"]["title"] == "SutazAI demo"


async def test_readiness_names_the_failing_dependency() -> None:
    transport = httpx.ASGITransport(app=make_app(down=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/demo/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["postgres"]["status"] == "up"
    assert checks["redis"] == {"status": "down", "error": "connection refused"}


async def test_api_docs_load_no_asset_from_outside(client: httpx.AsyncClient) -> None:
    import re

    page = (await client.get("/api/demo/docs")).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r"url: '([^']+)'", page)
    assert assets and all(a.startswith("/api/demo/") for a in assets), assets
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset
