"""Spans reach an OTLP/HTTP collector; logs are JSON lines carrying request and trace ids."""

import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from sutazai.lib.logging import configure_logging
from sutazai.lib.service_app import ServiceSpec, create_service_app


@dataclass
class Settings:
    otlp_endpoint: str | None = None


@dataclass
class FakeComponents:
    """A fake service's components: nothing to check."""

    def readiness(self) -> dict[str, object]:
        return {}


@asynccontextmanager
async def fake_started(settings: Settings) -> AsyncIterator[FakeComponents]:  # noqa: ARG001
    yield FakeComponents()


DEMO = ServiceSpec(name="demo", prefixes=("/api/demo",), description="d", start=fake_started)


class Collector(BaseHTTPRequestHandler):
    """A minimal OTLP/HTTP receiver on loopback that keeps what it is sent."""

    received: list[ExportTraceServiceRequest] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            message = ExportTraceServiceRequest()
            message.ParseFromString(body)
            Collector.received.append(message)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:  # noqa: ARG002
        return None


@pytest.fixture
def collector() -> str:
    server = HTTPServer(("127.0.0.1", 0), Collector)
    Collector.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


async def test_request_spans_are_exported_over_otlp(collector: str) -> None:
    app = create_service_app(DEMO, Settings(otlp_endpoint=collector))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/demo/healthz", headers={
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    assert response.headers["x-trace-id"] == "0af7651916cd43dd8448eb211c80319c"
    app.state.tracer_provider.force_flush()
    spans = [
        (resource.resource, span)
        for request in Collector.received for resource in request.resource_spans
        for scope in resource.scope_spans for span in scope.spans
    ]
    assert spans, "no span reached the collector"
    resource, span = spans[0]
    names = {a.key: a.value.string_value for a in resource.attributes}
    assert names["service.name"] == "sutazai-demo"
    assert span.name == "GET /api/demo/healthz"
    assert span.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    app.state.tracer_provider.shutdown()


async def test_logs_are_json_with_request_and_trace_ids(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    app = create_service_app(DEMO, Settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/demo/healthz", headers={"x-request-id": "abc-123"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("message") == "request handled"]
    assert access, lines
    record = access[-1]
    assert record["request_id"] == "abc-123" and record["service"] == "demo"
    assert record["trace_id"] == response.headers["x-trace-id"]
    assert record["status"] == 200 and record["path"] == "/api/demo/healthz"
    logging.getLogger().handlers.clear()
