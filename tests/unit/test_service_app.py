"""The platform's service skeleton: problem+json errors, request ids, probes and metrics."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from sutazai.lib.errors import NotFound, ValidationFailed
from sutazai.lib.service_app import ServiceSpec, create_service_app
from sutazai.lib.wiring import ReadinessCheck


class Body(BaseModel):
    n: int


@dataclass
class FakeSettings:
    down: bool
    otlp_endpoint: str | None = None


@dataclass
class FakeComponents:
    """A fake of a service's components, at the interface the app reads: its readiness checks."""

    down: bool

    def readiness(self) -> dict[str, ReadinessCheck]:
        async def ok() -> None:
            return None

        async def broken() -> None:
            raise ConnectionRefusedError("connection refused")

        return {"postgres": ok, "redis": broken if self.down else ok}


@asynccontextmanager
async def fake_started(settings: FakeSettings) -> AsyncIterator[FakeComponents]:
    yield FakeComponents(down=settings.down)


def make_app(down: bool = False) -> FastAPI:
    spec = ServiceSpec(name="demo", prefixes=("/api/demo",), description="demo", start=fake_started)
    app = create_service_app(spec, FakeSettings(down=down))

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
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = make_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                   base_url="http://testserver") as client:
        yield client


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
    app = make_app(down=True)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/demo/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["postgres"]["status"] == "up"
    assert checks["redis"] == {"status": "down", "error": "connection refused"}


async def test_before_the_wiring_has_started_the_service_says_so() -> None:
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        ready = await client.get("/api/demo/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"startup": {"status": "down", "error": "the service is still starting"}}


async def test_api_docs_load_no_asset_from_outside(client: httpx.AsyncClient) -> None:
    import re

    page = (await client.get("/api/demo/docs")).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r"url: '([^']+)'", page)
    assert assets and all(a.startswith("/api/demo/") for a in assets), assets
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset
