"""The plants of a wave, each as a child workflow (`{change_id}.{PLANT}`, PlantRolloutWorkflow),
in parallel. The change names the plants rolling out in its state (readers ask those workflows
for their progress: `starter/api/live_progress.py`), takes their results as the truth, stops them
when it is cancelled, and turns a plant that ended early into a hold."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from domain.messages import PlantRolloutInput, PlantRolloutResult
    from domain.rollout.tasks import RolloutTask, TaskStatus
    from workflows.change.context import ChangeContext
    from workflows.plant_rollout import PlantRolloutWorkflow


class PlantWaves:
    def __init__(self, ctx: ChangeContext) -> None:
        self._ctx = ctx
        self._children: dict[str, Any] = {}  # plant: its workflow's handle, while it runs

    def to_run(self, ready: list[RolloutTask]) -> list[str]:
        """Plants with tasks ready to run and none failed (a failed one waits for a person)."""
        failed = {t.plant for t in self._ctx.state.tasks if t.status == TaskStatus.failed}
        return sorted({t.plant for t in ready if t.plant and t.plant not in failed})

    async def run(self, wave: int, plants: list[str]) -> None:
        """Each plant as a child workflow, all at once; returns when all have ended."""
        ctx = self._ctx
        change_id = ctx.state.change_id
        for plant in plants:
            tasks = [t for t in ctx.state.tasks if t.plant == plant and t.wave == wave]
            self._children[plant] = await workflow.start_child_workflow(
                PlantRolloutWorkflow.run,
                PlantRolloutInput(
                    change_id=change_id,
                    plant=plant,
                    wave=wave,
                    chain_key=ctx.chain_key,
                    tasks=tasks,
                ),
                id=f"{change_id}.{plant}",
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,  # a retry runs it again
                static_summary=f"{change_id}: {len(tasks)} tasks in {plant} (wave {wave})",
            )
        ctx.state.rolling_out = sorted(self._children)
        ctx.refresh_details()
        await workflow.wait_condition(
            lambda: all(h.done() for h in self._children.values()) or ctx.cancel is not None
        )
        await self.collect()

    async def collect(self) -> None:
        """Take each plant's result (stopping them first if the change is being cancelled)."""
        ctx = self._ctx
        if ctx.cancel is not None:
            await self._stop_all()
        for plant, handle in list(self._children.items()):
            try:
                result: PlantRolloutResult = await asyncio.shield(handle)
            except ChildWorkflowError as err:
                await self._take_recorded(handle.id, handle.first_execution_run_id)
                self._plant_ended(
                    plant,
                    f"{handle.id} ended before finishing ({err.cause or err}); a write it had "
                    "in flight may have landed: a retry applies each task once",
                )
            else:
                self._take_result(result)
            del self._children[plant]
        ctx.state.rolling_out = sorted(self._children)
        ctx.refresh_details()

    async def _stop_all(self) -> None:
        """Ask every plant still rolling out to start nothing new."""
        for handle in self._children.values():
            if not handle.done():
                with contextlib.suppress(FailureError):  # it ended meanwhile
                    await handle.signal(PlantRolloutWorkflow.stop)

    async def _take_recorded(self, workflow_id: str, run_id: str | None) -> None:
        """What a plant workflow that ended without its result applied stands: what it held as
        done when it ended (asked of its closed run) and what its audit trail records (its
        events may not have reached the store: it was down when the plant was terminated)."""
        recorded = workflow.start_activity(
            "applied_by",
            args=[self._ctx.state.change_id, workflow_id],
            result_type=list[dict],
            start_to_close_timeout=timedelta(minutes=1),
            summary=f"What {workflow_id} recorded as applied",
        )
        held = workflow.start_activity(
            "ended_plant_tasks",
            args=[workflow_id, run_id],
            result_type=list[RolloutTask] | None,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=3),
            summary=f"What {workflow_id} held as done when it ended",
        )
        applied: dict[str, dict[str, str]] = {}  # task id: what the system held before
        with contextlib.suppress(ActivityError):  # no worker could replay it: the trail
            for task in await held or []:
                if task.status == TaskStatus.done:
                    applied[task.id] = task.before
        for row in await recorded:
            applied.setdefault(row["task_id"], row["before"] or {})
        for task in self._ctx.state.tasks:
            if task.id in applied and task.status in (TaskStatus.pending, TaskStatus.running):
                task.status, task.before, task.error = TaskStatus.done, applied[task.id], None

    def _take_result(self, result: PlantRolloutResult) -> None:
        tasks = self._ctx.state.tasks
        by_id = {t.id: t for t in result.tasks}
        for index, task in enumerate(tasks):
            if task.plant == result.plant and task.id in by_id:
                tasks[index] = by_id[task.id]
        if result.stopped and self._ctx.cancel is None:
            self._plant_ended(
                result.plant,
                "its rollout was cancelled in Temporal; nothing after this task there was applied",
            )

    def _plant_ended(self, plant: str, why: str) -> None:
        """A plant that stopped early: its first unfinished task waits for a person, and those
        it had in flight count as not applied. What it reported as applied stands; a retry
        re-applies the rest (a write that did land is a replay of its key, not a second one)."""
        unfinished = [
            t
            for t in self._ctx.state.tasks
            if t.plant == plant and t.status in (TaskStatus.pending, TaskStatus.running)
        ]
        for task in unfinished:
            task.status = TaskStatus.pending
        if unfinished:
            first = unfinished[0]
            first.status = TaskStatus.failed
            first.error = f"the plant {plant}: {why}"
