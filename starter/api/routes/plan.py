"""A change's impact report and rollout plan over HTTP (a large plan's task statuses from the
store)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request

from domain.impact.report import ImpactReport
from domain.rollout.plan import PlanView, RolloutPlan, plan_view
from domain.rollout.tasks import TaskStatus
from infra.logs import get_logger
from starter.api.deps import (
    ChangeId,
    Reader,
    change_state,
    engine_of,
    responses,
    temporal,
)
from store.artifacts import load_artifact
from store.plan_tasks import task_states

router = APIRouter(tags=["changes"])
log = get_logger(component="api")


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
