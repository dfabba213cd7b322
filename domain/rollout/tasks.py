"""Rollout planning: the DAG of tasks that carries a change into each system of each plant."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from domain.thread.objects import System


class TaskAction(StrEnum):
    release_revision = "release_revision"
    update_mbom = "update_mbom"
    revise_inspection_plan = "revise_inspection_plan"
    publish_work_instruction = "publish_work_instruction"
    update_routing_operation = "update_routing_operation"
    reissue_work_instruction = "reissue_work_instruction"
    backup_system = "backup_system"
    cutover_system = "cutover_system"
    smoke_check = "smoke_check"
    record_equipment_qualification = "record_equipment_qualification"
    release_nc_program = "release_nc_program"
    update_equipment_master = "update_equipment_master"
    revise_purchase_order = "revise_purchase_order"
    record_disposition = "record_disposition"


class TaskStatus(StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"
    skipped = "skipped"
    compensated = "compensated"


FINISHED = frozenset({TaskStatus.done, TaskStatus.skipped})


class RolloutTask(BaseModel):
    id: str
    system: System
    plant: str | None = None
    action: TaskAction
    target: str
    params: dict[str, str] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    summary: str
    status: TaskStatus = TaskStatus.pending
    attempts: int = 0
    error: str | None = None
    before: dict[str, str] = Field(
        default_factory=dict, description="State read before the write, for compensation."
    )
    verified: bool | None = None
    wave: int = Field(default=0, description="0 central systems, 1 the pilot plant, 2 the rest.")
    skipped_by: str | None = None
    skip_reason: str | None = None


def ready_tasks(tasks: list[RolloutTask], *, others_finished: bool = False) -> list[RolloutTask]:
    """Pending tasks whose dependencies have all finished (done or skipped). With
    `others_finished`, a dependency outside `tasks` counts as finished (a plant's tasks, run
    after the waves they depend on)."""
    status = {t.id: t.status for t in tasks}

    def finished(dep: str) -> bool:
        return status[dep] in FINISHED if dep in status else others_finished

    return [t for t in tasks if t.status == TaskStatus.pending and all(map(finished, t.depends_on))]


def open_wave(tasks: list[RolloutTask]) -> int | None:
    """The lowest wave that still has unfinished tasks (None when every task is finished)."""
    waves = [t.wave for t in tasks if t.status not in FINISHED]
    return min(waves) if waves else None


def compensation_order(tasks: list[RolloutTask]) -> list[RolloutTask]:
    """Done tasks in reverse dependency order: dependents are undone before what they rely on."""
    order: list[str] = []
    placed: set[str] = set()
    by_id = {t.id: t for t in tasks}

    def visit(task_id: str) -> None:
        if task_id in placed:
            return
        placed.add(task_id)
        for dep in by_id[task_id].depends_on:
            if dep in by_id:
                visit(dep)
        order.append(task_id)

    for task in tasks:
        visit(task.id)
    return [by_id[i] for i in reversed(order) if by_id[i].status == TaskStatus.done]


def idempotency_key(change_id: str, task_id: str, step: str = "apply") -> str:
    """The business key every write of this task carries: same change and task, same key."""
    return f"{change_id}:{task_id}:{step}"


def deviations(tasks: list[RolloutTask]) -> list[str]:
    """What a change leaves inconsistent because tasks were skipped: each skipped task, who
    skipped it and why, and the tasks applied on top of it (which now disagree with it)."""
    by_id = {t.id: t for t in tasks}
    dependents: dict[str, list[str]] = {t.id: [] for t in tasks}
    for task in tasks:
        for dep in task.depends_on:
            if dep in dependents:
                dependents[dep].append(task.id)
    lines = []
    for task in tasks:
        if task.status != TaskStatus.skipped:
            continue
        line = (
            f"{task.id} skipped by {task.skipped_by or 'unknown'}"
            + (f" ({task.skip_reason})" if task.skip_reason else "")
            + f": {task.summary} was not applied"
        )
        applied, stack, seen = [], list(dependents[task.id]), set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if by_id[current].status == TaskStatus.done:
                applied.append(current)
            stack.extend(dependents[current])
        if applied:
            line += "; applied on top of it, and now inconsistent with it: " + ", ".join(
                sorted(applied)
            )
        lines.append(line)
    return lines
