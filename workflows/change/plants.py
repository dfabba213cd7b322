"""The plant waves of ChangeWorkflow: each plant of a wave rolls out as a child workflow
(`{change_id}.{PLANT}`, PlantRolloutWorkflow), the plants of a wave in parallel. The change
names the plants rolling out in its state (readers ask those workflows for their progress:
`starter/api/live_progress.py`; children of earlier runs signalled it), takes their results as the
truth, stops them when it is cancelled, and turns a plant that ended early into a hold."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from domain.messages import PlantReport, PlantRolloutInput, PlantRolloutResult
    from domain.rollout.tasks import RolloutTask, TaskStatus
    from workflows.change.base import ChangeBase
    from workflows.plant_rollout import (
        PROGRESS_SIGNAL,
        QUERY_PROGRESS_PATCH,
        PlantRolloutWorkflow,
    )

PLANT_WORKFLOWS_PATCH = "plant-child-workflows"  # patch: earlier runs apply plant tasks inline
ENDED_PLANT_QUERY_PATCH = "ended-plant-by-query"  # patch: earlier runs read the audit trail only


class ChangePlants(ChangeBase):
    _children: dict[str, Any]

    @workflow.signal(
        name=PROGRESS_SIGNAL,
        description="A plant workflow started or finished tasks (children of earlier runs; "
        "progress only: its result counts).",
    )
    def plant_progress(self, report: PlantReport) -> None:
        by_id = {t.id: t for t in self._state.tasks}
        for progress in report.tasks:
            task = by_id.get(progress.task_id)
            if task is None or task.plant not in self._children:
                continue  # not a plant now rolling out: nothing to show
            if progress.status not in (TaskStatus.running, TaskStatus.done, TaskStatus.failed):
                continue
            task.status = TaskStatus(progress.status)
            task.before, task.error = progress.before, progress.error
        self._refresh_details()

    def _plants_to_run(self, ready: list[RolloutTask]) -> list[str]:
        """Plants with tasks ready to run and none failed (a failed one waits for a person)."""
        failed = {t.plant for t in self._state.tasks if t.status == TaskStatus.failed}
        return sorted({t.plant for t in ready if t.plant and t.plant not in failed})

    def _plant_tasks(self, plant: str, wave: int) -> list[RolloutTask]:
        return [t for t in self._state.tasks if t.plant == plant and t.wave == wave]

    async def _run_plants(self, wave: int, plants: list[str]) -> None:
        """Each plant as a child workflow, all at once; returns when all have ended."""
        change_id = self._state.change_id
        for plant in plants:
            tasks = self._plant_tasks(plant, wave)
            self._children[plant] = await workflow.start_child_workflow(
                PlantRolloutWorkflow.run,
                PlantRolloutInput(
                    change_id=change_id,
                    plant=plant,
                    wave=wave,
                    chain_key=self._chain_key,
                    tasks=tasks,
                    # a run from before progress by query reads the signals: the plant sends them
                    # (asked of the run's marker: `patched` here would record, or on replay
                    # answer, where runs of earlier code asked it only after a plant ended)
                    by_query=QUERY_PROGRESS_PATCH in self._versions.covered,
                ),
                id=f"{change_id}.{plant}",
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,  # a retry runs it again
                static_summary=f"{change_id}: {len(tasks)} tasks in {plant} (wave {wave})",
            )
        self._state.rolling_out = sorted(self._children)
        self._refresh_details()
        await workflow.wait_condition(
            lambda: all(h.done() for h in self._children.values()) or self._cancel is not None
        )
        await self._collect_plants()

    async def _stop_plants(self) -> None:
        """Ask every plant still rolling out to start nothing new."""
        for handle in self._children.values():
            if not handle.done():
                with contextlib.suppress(FailureError):  # it ended meanwhile
                    await handle.signal(PlantRolloutWorkflow.stop)

    async def _collect_plants(self) -> None:
        """Take each plant's result (stopping them first if the change is being cancelled)."""
        if self._cancel is not None:
            await self._stop_plants()
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
        self._state.rolling_out = sorted(self._children)
        self._refresh_details()

    async def _take_recorded(self, workflow_id: str, run_id: str | None) -> None:
        """What a plant workflow that ended without its result applied stands: what it held as
        done when it ended (asked of its closed run) and what its audit trail records (its
        events may not have reached the store: it was down when the plant was terminated)."""
        if not self._versions.patched(QUERY_PROGRESS_PATCH):
            return  # earlier runs: the progress the child signalled
        recorded = workflow.start_activity(
            "applied_by",
            args=[self._state.change_id, workflow_id],
            result_type=list[dict],
            start_to_close_timeout=timedelta(minutes=1),
            summary=f"What {workflow_id} recorded as applied",
        )
        applied: dict[str, dict[str, str]] = {}  # task id: what the system held before
        if self._versions.patched(ENDED_PLANT_QUERY_PATCH):
            held = workflow.start_activity(
                "ended_plant_tasks",
                args=[workflow_id, run_id],
                result_type=list[RolloutTask] | None,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(maximum_attempts=3),
                summary=f"What {workflow_id} held as done when it ended",
            )
            with contextlib.suppress(ActivityError):  # no worker could replay it: the trail
                for task in await held or []:
                    if task.status == TaskStatus.done:
                        applied[task.id] = task.before
        for row in await recorded:
            applied.setdefault(row["task_id"], row["before"] or {})
        for task in self._state.tasks:
            if task.id in applied and task.status in (TaskStatus.pending, TaskStatus.running):
                task.status, task.before, task.error = TaskStatus.done, applied[task.id], None

    def _take_result(self, result: PlantRolloutResult) -> None:
        by_id = {t.id: t for t in result.tasks}
        for index, task in enumerate(self._state.tasks):
            if task.plant == result.plant and task.id in by_id:
                self._state.tasks[index] = by_id[task.id]
        if result.stopped and self._cancel is None:
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
            for t in self._state.tasks
            if t.plant == plant and t.status in (TaskStatus.pending, TaskStatus.running)
        ]
        for task in unfinished:
            task.status = TaskStatus.pending
        if unfinished:
            first = unfinished[0]
            first.status = TaskStatus.failed
            first.error = f"the plant {plant}: {why}"
