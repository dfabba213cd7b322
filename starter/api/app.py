"""The HTTP API (FastAPI): submit changes, read them, decide, resolve, cancel, audit; the thread.

Every `/api/` route needs `Authorization: Bearer TOKEN` (tokens from `changeflow users add`),
reads included. People's input reaches a change's workflow signed by this API, as Workflow
Updates (starter/api/routes/input.py). Routes live in one router per resource; this module builds
the app: lifespan (Temporal client, store, connectors, signing key), limits, docs, errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from connectors.registry import Connectors
from domain.change.errors import ITEM_TAGS
from infra import signing
from infra.logs import get_logger
from infra.settings import Settings, load_settings
from infra.temporal import connect
from starter.api.deps import Reader, responses
from starter.api.limits import install_limits
from starter.api.routes import approvals as routes_approvals
from starter.api.routes import audit as routes_audit
from starter.api.routes import changes as routes_changes
from starter.api.routes import input as routes_input
from starter.api.routes import notifications as routes_notifications
from starter.api.routes import plan as routes_plan
from starter.api.routes import revise as routes_revise
from starter.api.routes import thread as routes_thread
from starter.api.routes import trace as routes_trace
from store.db import get_engine
from store.migrate import require_head
from store.thread.index_cache import IndexCache
from store.thread.store import ThreadStore
from store.users import User

log = get_logger(component="api")


def create_api(
    settings: Settings | None = None,
    *,
    client: Client | None = None,
    engine: Engine | None = None,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The API, with `routers` beside its own (the pages: starter/server.py). Tests pass their own
    client and engine; otherwise both come from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        signing.require_keyring()  # no key: a clear error at start, not at the first decision
        cfg = settings or load_settings()
        app.state.settings = cfg
        app.state.engine = engine or get_engine(cfg.db_url)
        require_head(app.state.engine)  # not at head: `changeflow store upgrade` first
        import domain.thread.bom_kernel  # noqa: F401  (the impact extra: named at start if missing)

        app.state.client = client or await connect(cfg)
        app.state.connectors = Connectors(cfg)
        app.state.indexes = IndexCache(ThreadStore(app.state.engine), cfg.home)
        yield
        await app.state.connectors.aclose()

    app = FastAPIOffline(  # /docs and /redoc served from the package: no CDN needed
        title="changeflow",
        version="0.2.0",
        lifespan=lifespan,
        description="Orchestrates manufacturing change as durable workflows. Every /api/ route "
        "needs a bearer token from `changeflow users add`.",
    )
    install_limits(app)
    for router in (
        routes_changes.router,
        routes_plan.router,
        routes_audit.router,
        routes_input.router,
        routes_approvals.router,
        routes_revise.router,
        routes_thread.router,
        routes_notifications.router,
        routes_trace.router,
        *routers,
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["service"], responses=responses(503))
    async def healthz(request: Request) -> dict[str, str]:
        """200 when the API can reach Temporal."""
        try:
            await request.app.state.client.workflow_service.get_system_info(GetSystemInfoRequest())
        except Exception as exc:  # noqa: BLE001 - any failure to reach Temporal is a 503
            raise HTTPException(503, f"Temporal is not reachable: {exc}") from exc
        return {"status": "ok"}

    @app.get("/api/me", response_model=User, tags=["service"], responses=responses(401))
    async def me(user: Reader) -> User:
        """Who the token belongs to."""
        return user

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        lines = []
        for problem in exc.errors():
            loc = [str(p) for p in problem["loc"] if p != "body" and p not in ITEM_TAGS]
            where = ".".join(loc) or "(body)"
            lines.append(f"{where}: {problem['msg'].removeprefix('Value error, ')}")
        return JSONResponse({"detail": lines}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 400:  # a body that is not JSON at all (bad bytes, bad encoding)
            return JSONResponse({"detail": ["(body): not valid JSON"]}, status_code=422)
        if exc.status_code == 405:  # name every method of the path, not just one route's
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    return app


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of the app accepts on this path."""
    methods: set[str] = set()
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)
