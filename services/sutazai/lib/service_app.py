"""The one way a SutazAI service is built: a FastAPI app with health, readiness, metrics,
OpenAPI, request ids, tracing, JSON access logs and problem+json errors."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from fastapi import APIRouter, FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sutazai import __version__
from sutazai.lib.context import bind_request, unbind_request
from sutazai.lib.errors import install_error_handlers
from sutazai.lib.input_guard import InputGuardMiddleware
from sutazai.lib.telemetry import create_tracer_provider
from sutazai.lib.wiring import ReadinessCheck, ServiceContainer, WorkerSpec, start_workers

COMPONENTS = "components"  # the one attribute of app.state: the service's typed components
S = TypeVar("S", bound="HasTelemetry")

logger = logging.getLogger("sutazai.access")



class HasTelemetry(Protocol):
    otlp_endpoint: str | None


@dataclass(frozen=True)
class ServiceSpec(Generic[S]):
    """What distinguishes one service: name, URL prefixes, how it starts from its settings
    (its `wiring.started`) and the routers it serves."""

    name: str
    prefixes: Sequence[str]
    description: str
    start: Callable[[S], AbstractAsyncContextManager[ServiceContainer]]
    routers: Sequence[APIRouter] = ()
    readiness_timeout_seconds: float = 3.0
    max_json_bytes: int = 8 * 1024 * 1024  # a larger JSON body is a 413 (see lib.input_guard)
    worker: WorkerSpec | None = None
    """its background work; run inside the service process when its settings say
    `inprocess_worker` (the embedded stack), else by `sutazai worker <name>`"""


class _Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sutazai_http_requests", "HTTP requests handled",
            ["service", "method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "sutazai_http_request_duration_seconds", "HTTP request latency",
            ["service", "method", "route"], registry=self.registry,
        )
        self.service = service


class ObservabilityMiddleware:
    """Pure ASGI middleware (safe for streaming): request id, server span, metrics, access log."""

    def __init__(self, app: ASGIApp, *, service: str, tracer: trace.Tracer, metrics: _Metrics) -> None:
        self.app, self.service, self.tracer, self.metrics = app, service, tracer, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        tokens = bind_request(request_id, self.service)
        status = {"code": 500}
        started = time.perf_counter()
        ctx = propagate.extract(headers)
        name = f"{scope['method']} {scope['path']}"
        with self.tracer.start_as_current_span(name, context=ctx, kind=SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", scope["method"])
            span.set_attribute("url.path", scope["path"])
            span.set_attribute("sutazai.request_id", request_id)

            async def send_wrapper(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                    extra = [(b"x-request-id", request_id.encode("latin-1"))]
                    span_ctx = span.get_span_context()
                    if span_ctx.is_valid:
                        extra.append((b"x-trace-id", format(span_ctx.trace_id, "032x").encode()))
                    message["headers"] = list(message.get("headers", [])) + extra
                await send(message)

            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                self._record(scope, span, status["code"], started)
                unbind_request(tokens)

    def _record(self, scope: Scope, span: trace.Span, code: int, started: float) -> None:
        route = scope.get("route")
        route_path = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        span.set_attribute("http.response.status_code", code)
        span.set_attribute("http.route", route_path)
        if code >= 500:
            span.set_status(Status(StatusCode.ERROR))
        self.metrics.requests.labels(self.service, scope["method"], route_path, str(code)).inc()
        self.metrics.latency.labels(self.service, scope["method"], route_path).observe(elapsed)
        logger.info(
            "request handled",
            extra={"method": scope["method"], "path": scope["path"], "status": code,
                   "duration_ms": round(elapsed * 1000, 2)},
        )


async def _run_checks(app: FastAPI, timeout: float) -> tuple[bool, dict[str, Any]]:
    async def one(check: ReadinessCheck) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(check(), timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none raised
            return {"status": "down", "error": str(exc) or type(exc).__name__}
        return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}

    container: ServiceContainer | None = getattr(app.state, COMPONENTS, None)
    if container is None:
        return False, {"startup": {"status": "down", "error": "the service is still starting"}}
    checks = container.readiness()
    names = list(checks)
    results = await asyncio.gather(*(one(checks[n]) for n in names))
    return all(r["status"] == "up" for r in results), dict(zip(names, results, strict=True))


def create_service_app(spec: ServiceSpec[S], settings: S) -> FastAPI:
    """The FastAPI app of one service: its routers, started by its wiring with `settings`."""
    primary = spec.prefixes[0]
    provider = create_tracer_provider(spec.name, settings.otlp_endpoint)
    metrics = _Metrics(spec.name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with spec.start(settings) as components:
                if spec.worker is not None and getattr(settings, "inprocess_worker", False):
                    start_workers(spec.worker, components, service=spec.name,
                                  claim_idle_ms=getattr(settings, "worker_claim_idle_ms", 30_000))
                setattr(app.state, COMPONENTS, components)
                try:
                    yield
                finally:
                    delattr(app.state, COMPONENTS)
        finally:
            provider.shutdown()

    app = FastAPI(
        title=f"SutazAI {spec.name}",
        description=spec.description,
        version=__version__,
        openapi_url=f"{primary}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.tracer_provider = provider
    install_error_handlers(app)
    _add_probe_routes(app, spec, metrics)
    _add_docs(app, spec)
    app.add_middleware(InputGuardMiddleware, max_json_bytes=spec.max_json_bytes)
    app.add_middleware(  # added last, so it runs first: every refusal is logged and counted too
        ObservabilityMiddleware, service=spec.name,
        tracer=provider.get_tracer("sutazai"), metrics=metrics,
    )
    for router in spec.routers:
        app.include_router(router)
    _declare_security(app, spec.routers)
    return app


_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_ERRORS = {"401": "no credential, or one that is invalid, expired, revoked or signed out",
           "403": "the credential may not do this (role, or collection outside its scope)",
           "404": "not found, or not visible to this credential", "413": "the body is too large",
           "422": "the request is invalid; `detail` says what to fix", "503": "a dependency is unavailable; "
           "retry after the `Retry-After` seconds"}
_PUBLIC_TAGS = {"probes"}


def _access_rules(routes: Sequence[Any]) -> dict[tuple[str, str], tuple[tuple[str, ...], bool]]:
    """(path, method) -> (roles required, whether the credential must be limited to no collection),
    read from each route's dependencies (`require_role`, `require_platform_admin`)."""
    rules: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {}
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        roles: tuple[str, ...] = ()
        unrestricted = False
        stack = list(route.dependant.dependencies)
        while stack:
            dependant = stack.pop()
            roles = roles or getattr(dependant.call, "sutazai_roles", ())
            unrestricted = unrestricted or bool(getattr(dependant.call, "sutazai_unrestricted", False))
            stack.extend(dependant.dependencies)
        for method in route.methods or ():
            rules[(route.path, method)] = (roles, unrestricted)
    return rules


def _declare_security(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """OpenAPI that says how to authenticate (the bearer scheme: an API key or a token) and which
    problem+json errors each operation can answer."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer",
            "description": "An API key (szk_...) or a bearer token from POST /api/identity/v1/tokens; "
                           "`X-API-Key` is accepted too."}
        components.setdefault("schemas", {})["Problem"] = {
            "type": "object", "description": "RFC 9457 problem details",
            "required": ["type", "title", "status", "code", "detail"],
            "properties": {name: {"type": kind} for name, kind in (
                ("type", "string"), ("title", "string"), ("status", "integer"), ("code", "string"),
                ("detail", "string"), ("instance", "string"), ("request_id", "string"))}}
        access = _access_rules([r for router in routers for r in router.routes])
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                roles, unrestricted = access.get((path, method.upper()), ((), False))
                if roles:
                    operation["x-sutazai-roles"] = list(roles)
                if unrestricted:
                    operation["x-sutazai-unrestricted"] = True
                public = (set(operation.get("tags", [])) & _PUBLIC_TAGS or path.startswith("/web/v1/session")
                          or operation.get("security") == [])  # a sign-in route declares itself public
                if not public:
                    operation["security"] = [{"bearer": []}]
                responses = operation.setdefault("responses", {})
                for status, why in _ERRORS.items():
                    if public and status in ("401", "403"):
                        continue
                    if status == "422" or status not in responses:  # FastAPI's own 422 schema is not what we send
                        responses[status] = {"description": why, "content": _PROBLEM}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _docs_assets() -> Path:
    """Swagger UI shipped inside the fastapi-offline wheel: docs work with no CDN."""
    found = importlib.util.find_spec("fastapi_offline")
    if found is None or not found.submodule_search_locations:
        raise RuntimeError("package fastapi-offline is missing; run `make install`")
    return Path(next(iter(found.submodule_search_locations))) / "static"


def _add_docs(app: FastAPI, spec: ServiceSpec[Any]) -> None:
    primary = spec.prefixes[0]
    app.mount(f"{primary}/docs/static", StaticFiles(directory=_docs_assets()), name=f"{spec.name}-docs")

    @app.get(f"{primary}/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{primary}/openapi.json", title=f"SutazAI {spec.name} API",
            swagger_js_url=f"{primary}/docs/static/swagger-ui-bundle.js",
            swagger_css_url=f"{primary}/docs/static/swagger-ui.css",
            swagger_favicon_url=f"{primary}/docs/static/favicon.png",
        )


def _add_probe_routes(app: FastAPI, spec: ServiceSpec[Any], metrics: _Metrics) -> None:
    primary = spec.prefixes[0]

    @app.get(f"{primary}/healthz", tags=["probes"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name, "version": __version__}

    @app.get(f"{primary}/readyz", tags=["probes"], summary="Readiness of each dependency")
    async def readyz() -> JSONResponse:
        ready, checks = await _run_checks(app, spec.readiness_timeout_seconds)
        body = {"status": "ready" if ready else "not_ready", "service": spec.name, "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get(f"{primary}/metrics", tags=["probes"], summary="Prometheus metrics")
    async def prometheus_metrics() -> Response:
        """Requests and latency; each readiness check as `sutazai_dependency_up` (1 up, 0 down);
        and what the service's components measure at scrape time (e.g. the job queue)."""
        _, checks = await _run_checks(app, spec.readiness_timeout_seconds)
        up = GaugeMetricFamily("sutazai_dependency_up", "1 while a readiness check of the service passes",
                               labels=["service", "check"])
        for name, result in checks.items():
            up.add_metric([spec.name, name], 1.0 if result["status"] == "up" else 0.0)
        families: list[Any] = [up]
        container = getattr(app.state, COMPONENTS, None)
        measure = getattr(container, "metrics", None)
        if measure is not None:
            try:
                families += await asyncio.wait_for(measure(), timeout=spec.readiness_timeout_seconds)
            except Exception as exc:  # noqa: BLE001 - a scrape never fails for a backend that is down
                logger.warning("%s metrics not measured: %s", spec.name, exc)
        scraped = CollectorRegistry()
        scraped.register(_Snapshot(families))
        return Response(generate_latest(metrics.registry) + generate_latest(scraped), media_type=CONTENT_TYPE_LATEST)


class _Snapshot:
    """Metric families measured for one scrape."""

    def __init__(self, families: list[Any]) -> None:
        self._families = families

    def collect(self) -> list[Any]:
        return self._families
