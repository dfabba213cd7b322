"""Changes: submit one, list them, read one, its impact report and its audit trail.

A submitted change is checked completely before anything starts (422 with every problem). Its id
is reserved in the store first and the workflow started with a reuse policy that refuses an id
Temporal has seen: change ids are never reused, even after Temporal forgets a finished change.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal
from uuid import uuid4

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.actions.registry import registered
from connectors.errors import ConnectorError
from domain.approvals.policy import ApprovalPolicy, may_declare_emergency, may_submit_on_behalf
from domain.change.errors import ChangeRejectedError
from domain.change.request import ChangeRequest, Priority
from domain.change.stages import ChangeStage
from domain.impact.engine import assess
from domain.impact.report import ImpactReport
from domain.lifecycle.state import ChangeState
from domain.messages import ChangeInput
from domain.rollout.plan import PlanError, PlanView, RolloutPlan, build_plan, plan_view
from domain.rollout.tasks import TaskStatus
from infra.logs import get_logger
from starter.api.audit_document import PdfUnavailableError, package_html, package_pdf
from starter.api.change_ids import new_change_id
from starter.api.deps import (
    ChangeId,
    ErrorBody,
    Reader,
    Writer,
    change_state,
    engine_of,
    responses,
    temporal,
    workflow_type,
)
from starter.api.validation import validate_against_systems
from store.artifacts import load_artifact
from store.audit.package import AuditPackage, build_package
from store.audit.read import AuditVerification, read_events, verify_chain
from store.audit.trail import AuditEvent, append_event
from store.changes import ChangeIdTakenError, release_change, reserve_change
from store.plan_tasks import task_states
from store.users import User, get_user
from workflows.change.workflow import ChangeWorkflow
from workflows.search_attributes import CHANGE_STAGE, CHANGE_TYPE, PLANTS, REQUESTER, RISK_LEVEL

router = APIRouter(tags=["changes"])
log = get_logger(component="api")


class Links(BaseModel):
    self: str
    ui: str


class Submitted(BaseModel):
    change_id: str
    stage: ChangeStage
    links: Links


class ChangeSummary(BaseModel):
    change_id: str
    status: str
    stage: str | None
    type: str | None
    risk_level: str | None
    plants: list[str]
    requester: str | None
    started_at: datetime | None


class AuditTrail(BaseModel):
    verification: AuditVerification
    events: list[AuditEvent]


@router.post(
    "/api/changes",
    status_code=201,
    response_model=Submitted,
    responses=responses(401, 403, 409, 413, 422, 503),
)
async def submit(change: ChangeRequest, request: Request, user: Writer) -> Submitted:
    """Start a change. 422 lists every problem and starts nothing. The requester is you unless
    `requested_by` names someone else, which only the roles the policy lists may do (403
    otherwise; recorded as submitted by you on their behalf); so is an emergency."""
    engine = engine_of(request)
    change = submitted_as(change, user, request.app.state.settings.approvals)
    problems = []
    if await asyncio.to_thread(get_user, engine, change.requested_by) is None:
        problems.append(
            f"requested_by: {change.requested_by} is not a changeflow user "
            "(add them with `changeflow users add`)"
        )
    await check_change_file(request, change, problems)
    change_id = change.change_id or new_change_id()
    chain_key = uuid4().hex
    try:
        await asyncio.to_thread(
            reserve_change,
            engine,
            change_id,
            chain_key=chain_key,
            submitted_by=user.name,
            title=change.title,
        )
    except ChangeIdTakenError as exc:
        raise HTTPException(409, str(exc)) from exc
    client = temporal(request)
    try:
        await client.start_workflow(
            ChangeWorkflow.run,
            ChangeInput(
                change_id=change_id, request=change, submitted_by=user.name, chain_key=chain_key
            ),
            id=change_id,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
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
        await asyncio.to_thread(release_change, engine, change_id, chain_key)
        raise HTTPException(409, f"change id {change_id} was already used in Temporal") from exc
    except RPCError as exc:
        await asyncio.to_thread(release_change, engine, change_id, chain_key)
        raise HTTPException(503, f"Temporal cannot start the change now: {exc.message}") from exc
    on_behalf = change.requested_by if change.requested_by != user.name else None
    if on_behalf:
        await _record_on_behalf(engine, change_id, chain_key, user, on_behalf)
    log.info("change submitted", change_id=change_id, by=user.name, on_behalf_of=on_behalf)
    settings = request.app.state.settings
    return Submitted(
        change_id=change_id,
        stage=ChangeStage.submitted,
        links=Links(
            self=f"/api/changes/{change_id}",
            ui=f"{settings.ui_url}/namespaces/{client.namespace}/workflows/{change_id}",
        ),
    )


async def _record_on_behalf(
    engine: Any, change_id: str, chain_key: str, user: User, requester: str
) -> None:
    """The change's audit trail says it was submitted by `user` on `requester`'s behalf (the
    workflow's own `change.submitted` names both too: actor and requested_by)."""
    try:
        await asyncio.to_thread(
            append_event,
            engine,
            change_id=change_id,
            event_key=f"{change_id}:change.submitted_on_behalf",
            chain_key=chain_key,
            actor=user.name,
            action="change.submitted_on_behalf",
            detail={
                "submitted_by": user.name,
                "role": user.role.value,
                "on_behalf_of": requester,
                "note": f"submitted by {user.name} on behalf of {requester}",
            },
        )
    except Exception as exc:  # noqa: BLE001 - the change has started: say so, do not fail it
        log.error("on-behalf record not written", change_id=change_id, error=str(exc))


def submitted_as(change: ChangeRequest, user: User, policy: ApprovalPolicy) -> ChangeRequest:
    """The change as `user` may submit it: requested by them unless they name someone else,
    which only the policy's `submit_on_behalf` roles may; an emergency only from the roles
    `[approvals.emergency] declare` lists (403 with the policy that says so)."""
    if change.priority == Priority.emergency:
        refused = may_declare_emergency(policy, user.role)
        if refused:
            raise HTTPException(403, refused)
    if change.requested_by in (None, user.name):
        return change.model_copy(update={"requested_by": user.name})
    refused = may_submit_on_behalf(policy, user.role)
    if refused:
        raise HTTPException(403, refused)
    return change


async def check_change_file(
    request: Request, change: ChangeRequest, problems: list[str] | None = None
) -> None:
    """A change file checked against the systems (PLM) and the thread's plan: 422 with every
    problem (added to `problems`), 503 when PLM cannot answer. Submissions and revisions."""
    problems = list(problems or [])
    try:
        problems += await validate_against_systems(change, request.app.state.connectors)
    except ConnectorError as exc:
        raise HTTPException(503, f"cannot check the change against PLM now: {exc}") from exc
    if not problems:
        problems += await asyncio.to_thread(plan_problems_now, request, change)
    if problems:
        raise HTTPException(422, problems)


def plan_problems_now(request: Request, change: ChangeRequest) -> list[str]:
    """What would stop the change's plan, on the thread as it is now (a pilot plant the change
    does not affect, an invalid plan). Nothing when the thread is empty: the assessment decides
    then, after its sync."""
    version, index = request.app.state.indexes.current()
    if version == 0:
        return []
    try:
        build_plan("SUBMIT", 1, change, assess("SUBMIT", change, index), registered())
    except (ChangeRejectedError, PlanError) as exc:
        return exc.problems
    return []


@router.get("/api/changes", response_model=list[ChangeSummary], responses=responses(401, 422))
async def list_changes(
    request: Request,
    _user: Reader,
    stage: ChangeStage | None = None,
    limit: int = Query(50, ge=1, le=1000),
) -> list[ChangeSummary]:
    """Every change, newest first (optionally only those in one stage)."""
    query = "WorkflowType = 'ChangeWorkflow'"
    if stage:
        query += f" AND ChangeStage = '{stage.value}'"
    found = []
    async for wf in temporal(request).list_workflows(query, limit=limit):
        sa = wf.typed_search_attributes
        found.append(
            ChangeSummary(
                change_id=wf.id,
                status=WorkflowExecutionStatus(wf.status).name.lower() if wf.status else "unknown",
                stage=sa.get(CHANGE_STAGE),
                type=sa.get(CHANGE_TYPE),
                risk_level=sa.get(RISK_LEVEL),
                plants=list(sa.get(PLANTS) or []),
                requester=sa.get(REQUESTER),
                started_at=wf.start_time,
            )
        )
    return found


@router.get(
    "/api/changes/{change_id}", response_model=ChangeState, responses=responses(401, 404, 422, 503)
)
async def get_change(change_id: ChangeId, request: Request, _user: Reader) -> ChangeState:
    """The full state of one change."""
    return await change_state(temporal(request), change_id)


@router.get("/api/changes/{change_id}/impact", responses=responses(401, 404, 409, 422, 503))
async def get_impact(
    change_id: ChangeId,
    request: Request,
    _user: Reader,
    offset: int = Query(0, ge=0),
    limit: int = Query(500, ge=1, le=5000),
) -> dict[str, Any]:
    """The change's impact report, its objects paged."""
    state = await change_state(temporal(request), change_id)
    if state.impact is None:
        raise HTTPException(
            409, f"change {change_id} has not been assessed yet (stage {state.stage.value})"
        )
    report = await asyncio.to_thread(
        load_artifact, engine_of(request), state.impact.report_id, ImpactReport
    )
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


@router.get(
    "/api/changes/{change_id}/plan",
    response_model=PlanView,
    responses=responses(401, 404, 409, 422, 503),
)
async def get_plan(
    change_id: ChangeId,
    request: Request,
    _user: Reader,
    offset: int = Query(0, ge=0),
    limit: int = Query(500, ge=1, le=5000),
) -> PlanView:
    """The change's rollout plan: its hash, waves and tasks with their status, paged."""
    state = await change_state(temporal(request), change_id)
    if state.plan_hash is None:
        raise HTTPException(409, f"change {change_id} has no plan yet (stage {state.stage.value})")
    if state.tasks or not state.plan_id:
        plan = RolloutPlan(
            change_id=change_id,
            revision=state.revision,
            pilot_plant=state.pilot_plant,
            tasks=state.tasks,
            plan_hash=state.plan_hash,
        )
    else:  # a large plan: the tasks and their statuses are in the store
        plan = await asyncio.to_thread(large_plan, engine_of(request), change_id, state.plan_id)
    return plan_view(plan, offset, limit)


def large_plan(engine: Any, change_id: str, plan_id: str) -> RolloutPlan:
    plan = load_artifact(engine, plan_id, RolloutPlan)
    if plan is None:
        raise HTTPException(404, f"plan {plan_id} is not in the store")
    states = task_states(engine, change_id, [t.id for t in plan.tasks])
    tasks = [
        t.model_copy(update={"status": TaskStatus(states[t.id].status)}) if t.id in states else t
        for t in plan.tasks
    ]
    return plan.model_copy(update={"tasks": tasks})


@router.get(
    "/api/changes/{change_id}/audit",
    response_model=AuditTrail | AuditPackage,
    responses={
        **responses(401, 404, 422, 503),
        200: {
            "description": "The trail (default), or the audit package as JSON, HTML or PDF.",
            "content": {"text/html": {}, "application/pdf": {}},
        },
        501: {
            "model": ErrorBody,
            "description": "format=pdf where the API lacks WeasyPrint (the `pdf` extra).",
        },
    },
)
async def audit(
    change_id: ChangeId,
    request: Request,
    _user: Reader,
    format: Literal["trail", "json", "html", "pdf"] = "trail",
) -> Any:
    """The change's audit trail and the check of its hash chain; `format=json|html|pdf`: the
    audit package an auditor reads (every revision, signature, write and read-back)."""
    engine = engine_of(request)
    events = await asyncio.to_thread(read_events, engine, change_id)
    if not events and await workflow_type(temporal(request).get_workflow_handle(change_id)) != (
        "ChangeWorkflow"
    ):
        raise HTTPException(404, f"change {change_id} does not exist")
    if format == "trail":
        verification = await asyncio.to_thread(verify_chain, engine, change_id)
        return AuditTrail(verification=verification, events=events)
    package = await asyncio.to_thread(build_package, engine, change_id)
    if package is None:
        raise HTTPException(404, f"change {change_id} has no audit trail yet")
    if format == "json":
        return package
    if format == "html":
        return HTMLResponse(package_html(package))
    try:
        pdf = await asyncio.to_thread(package_pdf, package)
    except PdfUnavailableError as exc:  # the JSON and the HTML still work
        raise HTTPException(501, str(exc)) from exc
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{change_id}-audit.pdf"'},
    )
