"""OpenTelemetry tracing per service, exported over OTLP/HTTP when an endpoint is configured."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from sutazai import __version__


def create_tracer_provider(service: str, otlp_endpoint: str | None) -> TracerProvider:
    """A provider for one service. Spans are always created (so logs carry trace ids) and
    exported only when `otlp_endpoint` (e.g. http://jaeger:4318) is set."""
    resource = Resource.create(
        {"service.name": f"sutazai-{service}", "service.version": __version__}
    )
    provider = TracerProvider(resource=resource)
    if otlp_endpoint:
        exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces", timeout=5)
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    return provider
