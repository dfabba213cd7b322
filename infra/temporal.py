"""One way to reach Temporal for every process: envconfig profile + settings, pydantic converter,
OpenTelemetry tracing interceptor on the client (workers inherit it) when spans are exported."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

from infra.settings import Settings
from infra.tracing import exporting


def connect_options(settings: Settings) -> dict[str, Any]:
    """Client.connect keyword arguments: TEMPORAL_* env and profile (TLS, API key), settings."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", settings.temporal_address)
    if not config.get("target_host"):
        config["target_host"] = settings.temporal_address
    config.setdefault("namespace", settings.temporal_namespace)
    return config


async def connect(settings: Settings, *, tracing: bool | None = None) -> Client:
    """A client; traced when `tracing`, by default when this process exports spans."""
    options = connect_options(settings)
    tracing = exporting() if tracing is None else tracing
    target = options.pop("target_host")
    return await Client.connect(
        target,
        data_converter=pydantic_data_converter,
        interceptors=[TracingInterceptor()] if tracing else [],
        **options,
    )
