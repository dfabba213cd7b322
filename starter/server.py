"""The server people and scripts reach: the HTTP API (starter/api/) and the approvers' pages
(starter/web/) in one FastAPI app. `uvicorn --factory starter.server:app`."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from temporalio.client import Client

from infra.logs import configure_logging
from infra.settings import Settings
from infra.tracing import configure_tracing
from starter.api.app import create_api
from starter.web import pages, sign_in
from starter.web.proxy import TrustedProxies


def create_app(
    settings: Settings | None = None, *, client: Client | None = None, engine: Engine | None = None
) -> FastAPI:
    """The API and the pages. Tests pass their own client and engine."""
    app = create_api(settings, client=client, engine=engine, routers=[sign_in.router, pages.router])
    app.add_middleware(TrustedProxies)  # the scheme and client a trusted proxy forwarded
    return app


def app() -> FastAPI:
    """uvicorn factory: `uvicorn --factory starter.server:app`."""
    configure_logging()
    configure_tracing("changeflow-api")
    return create_app()
