"""Spans are recorded only when they go somewhere (infra/tracing.py): off by default, on with the
console exporter, and an OTLP endpoint without its exporter installed says so and stays off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import asyncio, os
from infra.tracing import configure_tracing, exporting
from opentelemetry import trace
if os.environ.get("PROBE_PROVIDER"):  # as opentelemetry-instrument leaves it
    from opentelemetry.sdk.trace import TracerProvider
    trace.set_tracer_provider(TracerProvider())
on = configure_tracing("probe")
with trace.get_tracer("probe").start_as_current_span("probe-span") as span:
    recording = span.is_recording()
print("ON" if on else "OFF", exporting(), recording, flush=True)
"""


def probe(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CHANGEFLOW_OTEL"))}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout + result.stderr


def test_no_exporter_no_spans() -> None:
    out = probe()
    assert "OFF False False" in out


def test_the_console_exporter_records_and_prints_spans() -> None:
    out = probe(CHANGEFLOW_OTEL_CONSOLE="1")
    assert "ON True True" in out and '"name": "probe-span"' in out


def test_an_otlp_endpoint_without_its_exporter_says_how_to_install_it() -> None:
    out = probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")
    try:
        import opentelemetry.exporter.otlp.proto.http  # noqa: F401
    except ImportError:
        assert "OFF False False" in out and "changeflow[otlp]" in out
    else:
        assert "ON True True" in out


def test_otel_traces_exporter_none_keeps_an_endpoint_from_exporting() -> None:
    out = probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318", OTEL_TRACES_EXPORTER="none")
    assert "OFF False False" in out
    assert "changeflow[otlp]" not in out  # not even looked for


def test_a_provider_set_before_it_is_kept_and_traced_into() -> None:
    out = probe(PROBE_PROVIDER="1")
    assert "ON True True" in out
