"""The HTTP API (FastAPI): submit changes, read their state, decide, resolve, cancel, audit.

Every write needs `Authorization: Bearer TOKEN` (tokens from `changeflow users add`). Human
decisions reach the workflow as signals; the API checks them first so the caller gets a clear
401/403/404/409 instead of a silently ignored signal.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.engine import Engine
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from connectors.errors import ConnectorError
from connectors.registry import Connectors
from domain.approvals import (
    APPROVER_ROLES,
    PLANT_ROLES,
    ApprovalDecision,
    Decision,
    Role,
    check_decision,
)
from domain.change_request import ChangeRequest
from domain.errors import ChangeRejectedError, describe_validation_error
from domain.impact import ImpactReport
from domain.impact_engine import assess
from domain.messages import (
    CancelRequest,
    ChangeInput,
    Resolution,
    ResolveAction,
    SyncOutcome,
    SyncRequest,
)
from domain.stages import ChangeStage, is_final
from domain.state import ChangeState
from infra.logs import configure_logging, get_logger
from infra.settings import Settings, load_settings
from infra.temporal import connect
from infra.tracing import configure_tracing
from starter.change_ids import new_change_id
from starter.validation import validate_against_systems
from store.artifacts import load_artifact
from store.audit import read_events, verify_chain
from store.db import get_engine
from store.thread_store import IndexCache, ThreadStore
from store.users import User, user_for_token
from workflows.change_workflow import ChangeWorkflow
from workflows.search_attributes import CHANGE_STAGE, CHANGE_TYPE, PLANTS, REQUESTER, RISK_LEVEL
from workflows.thread_sync import ThreadSyncWorkflow

log = get_logger(component="api")


class ApprovalBody(BaseModel):
    decision: Decision
    role: Role
    plant: str | None = None
    comment: str = Field(default="", max_length=4000)


class ResolveBody(BaseModel):
    task_id: str
    action: ResolveAction
    comment: str = Field(default="", max_length=4000)


class CancelBody(BaseModel):
    reason: str = Field(default="", max_length=4000)


class SyncBody(BaseModel):
    mode: str = Field(default="incremental", pattern="^(full|incremental)$")


class ChangeSummary(BaseModel):
    change_id: str
    status: str
    stage: str | None
    type: str | None
    risk_level: str | None
    plants: list[str]
    requester: str | None
    started_at: datetime | None


def create_app(
    settings: Settings | None = None, *, client: Client | None = None, engine: Engine | None = None
) -> FastAPI:
    """The API. Tests pass their own client and engine; otherwise both come from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or load_settings()
        app.state.settings = cfg
        app.state.engine = engine or get_engine(cfg.db_url)
        app.state.client = client or await connect(cfg)
        app.state.connectors = Connectors(cfg)
        app.state.indexes = IndexCache(ThreadStore(app.state.engine))
        yield
        await app.state.connectors.aclose()

    app = FastAPI(
        title="changeflow",
        version="0.1.0",
        lifespan=lifespan,
        description="Orchestrates manufacturing change as durable workflows.",
    )

    def temporal(request: Request) -> Client:
        return request.app.state.client

    def current_user(request: Request, authorization: str | None = Header(None)) -> User:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise HTTPException(401, "missing bearer token (Authorization: Bearer TOKEN)")
        user = user_for_token(request.app.state.engine, authorization.split(" ", 1)[1].strip())
        if user is None:
            raise HTTPException(401, "unknown or revoked token")
        return user

    async def change_state(client: Client, change_id: str) -> ChangeState:
        handle = client.get_workflow_handle(change_id)
        try:
            return await handle.query(ChangeWorkflow.state)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise HTTPException(404, f"change {change_id} does not exist") from exc
            raise

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, str]:
        await request.app.state.client.workflow_service.get_system_info(GetSystemInfoRequest())
        return {"status": "ok"}

    @app.get("/api/me", response_model=User)
    async def me(user: User = Depends(current_user)) -> User:
        return user

    @app.post("/api/changes", status_code=201)
    async def submit(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HTTPException(422, ["(body): not valid JSON"]) from None
        try:
            change = ChangeRequest.model_validate(body)
        except ValidationError as exc:
            raise HTTPException(422, describe_validation_error(exc)) from exc
        try:
            problems = await validate_against_systems(change, request.app.state.connectors)
        except ConnectorError as exc:
            raise HTTPException(503, f"cannot check the change against PLM now: {exc}") from exc
        if problems:
            raise HTTPException(422, problems)
        change_id = change.change_id or new_change_id()
        client = temporal(request)
        try:
            await client.start_workflow(
                ChangeWorkflow.run,
                ChangeInput(change_id=change_id, request=change, submitted_by=user.name),
                id=change_id,
                task_queue=request.app.state.settings.task_queue,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(CHANGE_TYPE, change.type.value),
                        SearchAttributePair(CHANGE_STAGE, ChangeStage.submitted.value),
                        SearchAttributePair(REQUESTER, change.requested_by),
                    ]
                ),
                static_summary=f"{change.title} ({change.type.value})",
            )
        except WorkflowAlreadyStartedError as exc:
            raise HTTPException(409, f"change {change_id} already exists") from exc
        log.info("change submitted", change_id=change_id, by=user.name)
        return {
            "change_id": change_id,
            "stage": ChangeStage.submitted.value,
            "links": {
                "self": f"/api/changes/{change_id}",
                "ui": f"{request.app.state.settings.ui_url}/namespaces/"
                f"{client.namespace}/workflows/{change_id}",
            },
        }

    @app.get("/api/changes", response_model=list[ChangeSummary])
    async def list_changes(
        request: Request, stage: str | None = None, limit: int = Query(50, ge=1, le=1000)
    ) -> list[ChangeSummary]:
        query = "WorkflowType = 'ChangeWorkflow'"
        if stage:
            if stage not in ChangeStage.__members__:
                raise HTTPException(422, [f"stage: '{stage}' is not a stage"])
            query += f" AND ChangeStage = '{stage}'"
        found = []
        async for wf in temporal(request).list_workflows(query, limit=limit):
            sa = wf.typed_search_attributes
            found.append(
                ChangeSummary(
                    change_id=wf.id,
                    status=WorkflowExecutionStatus(wf.status).name.lower()
                    if wf.status
                    else "unknown",
                    stage=sa.get(CHANGE_STAGE),
                    type=sa.get(CHANGE_TYPE),
                    risk_level=sa.get(RISK_LEVEL),
                    plants=list(sa.get(PLANTS) or []),
                    requester=sa.get(REQUESTER),
                    started_at=wf.start_time,
                )
            )
        return found

    @app.get("/api/changes/{change_id}", response_model=ChangeState)
    async def get_change(change_id: str, request: Request) -> ChangeState:
        return await change_state(temporal(request), change_id)

    @app.get("/api/changes/{change_id}/impact")
    async def get_impact(
        change_id: str,
        request: Request,
        offset: int = Query(0, ge=0),
        limit: int = Query(500, ge=1, le=5000),
    ) -> dict[str, Any]:
        state = await change_state(temporal(request), change_id)
        if state.impact is None:
            raise HTTPException(
                409, f"change {change_id} has not been assessed yet (stage {state.stage.value})"
            )
        report = load_artifact(request.app.state.engine, state.impact.report_id, ImpactReport)
        if report is None:
            raise HTTPException(404, f"impact report {state.impact.report_id} is not in the store")
        data = report.model_dump(mode="json", exclude={"objects"})
        data.update(
            report_id=state.impact.report_id,
            counts=report.counts(),
            total_objects=len(report.objects),
            offset=offset,
            limit=limit,
            objects=[o.model_dump(mode="json") for o in report.objects[offset : offset + limit]],
        )
        return data

    @app.post("/api/impact-preview")
    async def impact_preview(
        request: Request, user: User = Depends(current_user)
    ) -> dict[str, Any]:
        """What a change would touch, from the current thread, without starting anything.
        Any change type; the report is returned, not stored."""
        try:
            change = ChangeRequest.model_validate(await request.json())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HTTPException(422, ["(body): not valid JSON"]) from None
        except ValidationError as exc:
            raise HTTPException(422, describe_validation_error(exc)) from exc
        version, index = await asyncio.to_thread(request.app.state.indexes.current)
        if version == 0:
            raise HTTPException(409, "the digital thread is empty: run a sync first")
        try:
            report = await asyncio.to_thread(assess, change.change_id or "PREVIEW", change, index)
        except ChangeRejectedError as exc:
            raise HTTPException(422, exc.problems) from exc
        data = report.model_dump(mode="json")
        data.update(
            counts=report.counts(), thread_version=version, total_objects=len(report.objects)
        )
        return data

    @app.get("/api/thread")
    async def thread_status(request: Request) -> dict[str, Any]:
        store = ThreadStore(request.app.state.engine)
        state = await asyncio.to_thread(store.state)
        return {
            "version": state.version,
            "watermark": state.watermark,
            "full_synced_at": state.full_synced_at,
            "counts": await asyncio.to_thread(store.counts),
            "recent_syncs": [
                r.model_dump(mode="json") for r in await asyncio.to_thread(store.recent_runs)
            ],
        }

    @app.post("/api/thread/sync", status_code=202)
    async def thread_sync(
        body: SyncBody, request: Request, user: User = Depends(current_user)
    ) -> dict[str, str]:
        if user.role not in (Role.admin, Role.analyst, Role.engineering):
            raise HTTPException(403, f"role {user.role.value} cannot start a sync")
        workflow_id = f"thread-sync-{body.mode}-{uuid4().hex[:8]}"
        await temporal(request).start_workflow(
            ThreadSyncWorkflow.run,
            SyncRequest(mode=body.mode),
            id=workflow_id,
            task_queue=request.app.state.settings.task_queue,
            static_summary=f"{body.mode} thread sync requested by {user.name}",
        )
        return {"workflow_id": workflow_id}

    @app.get("/api/thread/sync/{workflow_id}")
    async def thread_sync_status(workflow_id: str, request: Request) -> dict[str, Any]:
        handle = temporal(request).get_workflow_handle(workflow_id, result_type=SyncOutcome)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise HTTPException(404, f"sync {workflow_id} does not exist") from exc
            raise
        status = description.status.name.lower() if description.status else "unknown"
        result: dict[str, Any] = {"workflow_id": workflow_id, "status": status}
        if description.status == WorkflowExecutionStatus.COMPLETED:
            outcome = await handle.result()
            result["outcome"] = outcome.model_dump(mode="json")
        return result

    @app.post("/api/changes/{change_id}/approvals", status_code=202)
    async def decide(
        change_id: str, body: ApprovalBody, request: Request, user: User = Depends(current_user)
    ) -> dict[str, str]:
        if body.role not in APPROVER_ROLES:
            raise HTTPException(422, [f"role: {body.role.value} does not approve changes"])
        if user.role != body.role:
            raise HTTPException(
                403, f"{user.name} has role {user.role.value}, not {body.role.value}"
            )
        plant = body.plant if body.role in PLANT_ROLES else None
        if body.role in PLANT_ROLES:
            plant = plant or user.plant
            if plant != user.plant:
                raise HTTPException(403, f"{user.name} decides for plant {user.plant}, not {plant}")
        state = await change_state(temporal(request), change_id)
        if state.stage != ChangeStage.awaiting_approval:
            raise HTTPException(
                409, f"change {change_id} is {state.stage.value}, not awaiting approval"
            )
        decision = ApprovalDecision(
            approval_id=uuid4().hex,
            decision=body.decision,
            role=body.role,
            plant=plant,
            approver=user.name,
            comment=body.comment,
            decided_at=datetime.now(UTC),
        )
        reason = check_decision(state.approvals, decision, state.requested_by)
        if reason is None and user.name == state.submitted_by:
            reason = f"{user.name} submitted this change and cannot decide on it"
        if reason is not None:
            raise HTTPException(409, reason)
        await (
            temporal(request).get_workflow_handle(change_id).signal(ChangeWorkflow.decide, decision)
        )
        log.info("decision sent", change_id=change_id, by=user.name, decision=body.decision.value)
        return {"approval_id": decision.approval_id, "status": "accepted"}

    @app.post("/api/changes/{change_id}/resolve", status_code=202)
    async def resolve(
        change_id: str, body: ResolveBody, request: Request, user: User = Depends(current_user)
    ) -> dict[str, str]:
        if user.role not in (Role.admin, Role.engineering, Role.production):
            raise HTTPException(403, f"role {user.role.value} cannot resolve held tasks")
        state = await change_state(temporal(request), change_id)
        if state.stage != ChangeStage.on_hold or state.hold is None:
            raise HTTPException(409, f"change {change_id} is {state.stage.value}, not on hold")
        if state.hold.task_id != body.task_id:
            raise HTTPException(409, f"task {state.hold.task_id} is on hold, not {body.task_id}")
        await (
            temporal(request)
            .get_workflow_handle(change_id)
            .signal(
                ChangeWorkflow.resolve,
                Resolution(
                    task_id=body.task_id, action=body.action, by=user.name, comment=body.comment
                ),
            )
        )
        return {"status": "accepted"}

    @app.post("/api/changes/{change_id}/cancel", status_code=202)
    async def cancel(
        change_id: str, body: CancelBody, request: Request, user: User = Depends(current_user)
    ) -> dict[str, str]:
        state = await change_state(temporal(request), change_id)
        if user.role != Role.admin and user.name not in (state.requested_by, state.submitted_by):
            raise HTTPException(403, "only the requester, the submitter or an admin can cancel")
        if is_final(state.stage):
            raise HTTPException(409, f"change {change_id} is already {state.stage.value}")
        await (
            temporal(request)
            .get_workflow_handle(change_id)
            .signal(ChangeWorkflow.cancel, CancelRequest(by=user.name, reason=body.reason))
        )
        return {"status": "accepted"}

    @app.get("/api/changes/{change_id}/audit")
    async def audit(change_id: str, request: Request) -> dict[str, Any]:
        engine = request.app.state.engine
        events = read_events(engine, change_id)
        if not events:
            await change_state(temporal(request), change_id)  # 404 when unknown
        return {
            "verification": verify_chain(engine, change_id).model_dump(mode="json"),
            "events": [e.model_dump(mode="json") for e in events],
        }

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        lines = []
        for problem in exc.errors():
            where = ".".join(str(p) for p in problem["loc"] if p != "body") or "(body)"
            lines.append(f"{where}: {problem['msg'].removeprefix('Value error, ')}")
        return JSONResponse({"detail": lines}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    return app


def app() -> FastAPI:
    """uvicorn factory: `uvicorn --factory starter.api:app`."""
    configure_logging()
    configure_tracing("changeflow-api")
    return create_app()
