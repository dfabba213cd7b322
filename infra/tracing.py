"""OpenTelemetry set-up. Spans are recorded only when they go somewhere: to the console with
CHANGEFLOW_OTEL_CONSOLE=1, to an OTLP collector when OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set (needs `pip install changeflow[otlp]`). Otherwise
tracing stays off: no Temporal tracing interceptor, and connector spans are the API's no-ops
(recording spans nobody receives cost a tenth of the central worker's CPU).

OTEL_TRACES_EXPORTER=none turns the OTLP exporter off, as elsewhere in OpenTelemetry. A process
whose tracer provider is already set (run under `opentelemetry-instrument`) keeps it and traces
its workflows and activities into it."""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from infra.logs import get_logger

_exporting = False


def otlp_exporter() -> SpanExporter | None:
    """An OTLP exporter when an endpoint is configured (the standard OTEL_* variables)."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    if not endpoint or os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        get_logger(component="tracing").warning(
            "an OTLP endpoint is set but no exporter is installed: "
            "pip install 'changeflow[otlp]'; tracing stays off"
        )
        return None
    return OTLPSpanExporter()


def configure_tracing(service: str) -> bool:
    """Set up the tracer provider if spans are exported; True when they are."""
    global _exporting
    if isinstance(trace.get_tracer_provider(), TracerProvider):  # opentelemetry-instrument's
        _exporting = True
        return True
    exporters: list[SpanExporter] = []
    if os.environ.get("CHANGEFLOW_OTEL_CONSOLE") == "1":
        exporters.append(ConsoleSpanExporter())
    if (otlp := otlp_exporter()) is not None:
        exporters.append(otlp)
    if not exporters:
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _exporting = True
    return True


def exporting() -> bool:
    """Whether this process exports spans (configure_tracing said so)."""
    return _exporting
