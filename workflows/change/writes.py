"""One task's write from the change workflow itself (a central task applied, any task undone),
remembered until it ends: if the change is cancelled in Temporal meanwhile, the write is let
finish (shielded) and settled afterwards, so that what landed can be undone. Each outcome goes
into the task, the state and the audit trail once."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.messages import TaskResult
    from domain.rollout.tasks import RolloutTask, TaskStatus
    from workflows.change.context import ChangeContext
    from workflows.task_activities import start_task_activity

APPLY, UNDO = "apply_task", "compensate_task"


class TaskWrites:
    def __init__(self, ctx: ChangeContext) -> None:
        self._ctx = ctx
        self._inflight: dict[str, tuple[RolloutTask, Any, str]] = {}

    async def apply(self, task: RolloutTask) -> None:
        task.status = TaskStatus.running
        task.attempts += 1
        await self._settle(task, self._start(APPLY, task, task.summary), APPLY)

    async def undo(self, task: RolloutTask) -> None:
        await self._settle(task, self._start(UNDO, task, f"Undo: {task.summary}"), UNDO)

    async def settle_inflight(self) -> None:
        """After a Temporal cancellation: let each write still in flight finish, and take it."""
        for task, handle, name in list(self._inflight.values()):
            await self._settle(task, handle, name)

    def _start(self, name: str, task: RolloutTask, summary: str) -> Any:
        handle = start_task_activity(name, self._ctx.state.change_id, task, summary)
        self._inflight[f"{name}:{task.id}"] = (task, handle, name)
        return handle

    async def _settle(self, task: RolloutTask, handle: Any, name: str) -> None:
        try:
            result = await asyncio.shield(handle)
        except ActivityError as err:
            self._inflight.pop(f"{name}:{task.id}", None)
            (self._apply_failed if name == APPLY else self._undo_failed)(task, err)
            return
        self._inflight.pop(f"{name}:{task.id}", None)
        if name == APPLY:
            self._applied(task, result)
        else:
            self._undone(task)

    def _applied(self, task: RolloutTask, result: TaskResult) -> None:
        task.status = TaskStatus.done
        task.before = result.before
        self._ctx.audit(
            "task.applied",
            "changeflow",
            {
                "task_id": task.id,
                "system": task.system.value,
                "plant": task.plant,
                "detail": result.detail,
                "replayed": result.replayed,
                "before": result.before,  # what the system held, restored by the undo
                "after": {"action": task.action.value, "target": task.target, **task.params},
            },
        )

    def _undone(self, task: RolloutTask) -> None:
        task.status = TaskStatus.compensated
        self._ctx.audit(
            "task.compensated", "changeflow", {"task_id": task.id, "restored": task.before}
        )

    def _apply_failed(self, task: RolloutTask, err: ActivityError) -> None:
        task.status = TaskStatus.failed
        task.error = str(err.cause or err)
        self._ctx.audit("task.failed", "changeflow", {"task_id": task.id, "error": task.error})

    def _undo_failed(self, task: RolloutTask, err: ActivityError) -> None:
        self._ctx.state.outcome += f"; needs manual undo: {task.id}: {err.cause or err}"
        task.status = TaskStatus.failed
        task.error = f"compensation failed: {err.cause or err}"
        self._ctx.audit(
            "task.compensation_failed",
            "changeflow",
            {"task_id": task.id, "error": str(err.cause or err)},
        )
