"""The digital thread: what it holds, syncing it now, and previewing a change's impact on it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel
from temporalio.client import WorkflowExecutionStatus

from activities.actions.registry import registered
from domain.approvals.decisions import Role
from domain.approvals.policy import Explanation, explain
from domain.change.errors import ChangeRejectedError
from domain.change.request import ChangeRequest
from domain.impact.engine import assess
from domain.messages import SyncOutcome, SyncRequest
from domain.rollout.plan import PlanError, PlanView, build_plan, plan_view
from starter.api.deps import Reader, Writer, engine_of, responses, temporal, workflow_type
from store.thread.store import ThreadStore
from workflows.thread_sync import ThreadSyncWorkflow

router = APIRouter(tags=["digital thread"])


class SyncBody(BaseModel):
    mode: Literal["full", "incremental"] = "incremental"


class SyncStarted(BaseModel):
    workflow_id: str


class SyncStatus(BaseModel):
    workflow_id: str
    status: str
    outcome: SyncOutcome | None = None


SyncId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", max_length=100)]


@router.post("/api/impact-preview", responses=responses(401, 409, 413, 422))
async def impact_preview(change: ChangeRequest, request: Request, _user: Reader) -> dict[str, Any]:
    """What a change would touch, from the current thread, without starting anything.
    Any change type; the report is returned, not stored."""
    version, index = await asyncio.to_thread(request.app.state.indexes.current)
    if version == 0:
        raise HTTPException(409, "the digital thread is empty: run a sync first")
    try:
        report = await asyncio.to_thread(assess, change.change_id or "PREVIEW", change, index)
    except ChangeRejectedError as exc:
        raise HTTPException(422, exc.problems) from exc
    data = report.model_dump(mode="json")
    data.update(counts=report.counts(), thread_version=version, total_objects=len(report.objects))
    return data


@router.post("/api/plan-preview", response_model=PlanView, responses=responses(401, 409, 413, 422))
async def plan_preview(change: ChangeRequest, request: Request, _user: Reader) -> PlanView:
    """The rollout plan a change file would get, from the current thread; starts nothing."""
    version, index = await asyncio.to_thread(request.app.state.indexes.current)
    if version == 0:
        raise HTTPException(409, "the digital thread is empty: run a sync first")
    change_id = change.change_id or "PREVIEW"
    try:
        report = await asyncio.to_thread(assess, change_id, change, index)
        plan = build_plan(change_id, 1, change, report, registered())
    except (ChangeRejectedError, PlanError) as exc:
        raise HTTPException(422, exc.problems) from exc
    if not plan.tasks:
        raise HTTPException(
            422, [f"type: {change.type.value} changes are assessed but not rolled out yet"]
        )
    return plan_view(plan, 0, 5000)


@router.post(
    "/api/policy-explain", response_model=list[Explanation], responses=responses(401, 409, 413, 422)
)
async def policy_explain(
    change: ChangeRequest, request: Request, _user: Reader
) -> list[Explanation]:
    """Which approval rule of the policy asks for which approval of a change file, and why (the
    rules that do not apply are listed too); starts nothing."""
    version, index = await asyncio.to_thread(request.app.state.indexes.current)
    if version == 0:
        raise HTTPException(409, "the digital thread is empty: run a sync first")
    try:
        report = await asyncio.to_thread(assess, change.change_id or "PREVIEW", change, index)
    except ChangeRejectedError as exc:
        raise HTTPException(422, exc.problems) from exc
    return explain(request.app.state.settings.approvals, change, report)


@router.get("/api/thread", responses=responses(401))
async def thread_status(request: Request, _user: Reader) -> dict[str, Any]:
    """The thread's version, rows per table and recent syncs."""
    store = ThreadStore(engine_of(request))
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


@router.post(
    "/api/thread/sync",
    status_code=202,
    response_model=SyncStarted,
    responses=responses(401, 403, 413, 422),
)
async def thread_sync(body: SyncBody, request: Request, user: Writer) -> SyncStarted:
    """Pull every system of record into the thread now (admin, analyst, engineering)."""
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
    return SyncStarted(workflow_id=workflow_id)


@router.get(
    "/api/thread/sync/{workflow_id}",
    response_model=SyncStatus,
    responses=responses(401, 404, 422),
)
async def thread_sync_status(workflow_id: SyncId, request: Request, _user: Reader) -> SyncStatus:
    """Whether a sync is still running, and its outcome once it ended."""
    handle = temporal(request).get_workflow_handle(workflow_id, result_type=SyncOutcome)
    if await workflow_type(handle) != "ThreadSyncWorkflow":
        raise HTTPException(404, f"sync {workflow_id} does not exist")
    description = await handle.describe()
    status = description.status.name.lower() if description.status else "unknown"
    result = SyncStatus(workflow_id=workflow_id, status=status)
    if description.status == WorkflowExecutionStatus.COMPLETED:
        result.outcome = await handle.result()
    return result
