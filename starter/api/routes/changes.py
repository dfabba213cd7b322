"""Changes: submit one, list them, read one (its impact and plan: plan.py; its audit trail:
audit.py).

A submitted change is checked completely before anything starts (422 with every problem). Its id
is reserved in the store first and the workflow started with a reuse policy that refuses an id
Temporal has seen: change ids are never reused, even after Temporal forgets a finished change.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, HTTPException, Query, Request
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
from domain.lifecycle.state import ChangeState
from domain.messages import ChangeInput
from domain.rollout.plan import PlanError, build_plan
from infra.logs import get_logger
from starter.api.change_ids import new_change_id
from starter.api.deps import (
    ChangeId,
    Reader,
    Writer,
    change_state,
    engine_of,
    responses,
    temporal,
)
from starter.api.validation import validate_against_systems
from store.audit.trail import append_event
from store.changes import ChangeIdTakenError, release_change, reserve_change
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
