"""PlantRolloutWorkflow: one plant's tasks of one wave, as a child of the change
(`{change_id}.{PLANT}`). It applies the tasks in dependency order, each on the queue that
reaches its system (the plant's own queue for MES, QMS and LMS), audits each one, answers for
its progress (the `tasks` query: the change names the plants rolling out, readers ask them), and
returns the tasks as they ended. The first task a system refuses stops the plant: nothing after
it there runs, and the change holds for a person. Asked to stop (the change is being
cancelled), or cancelled itself in Temporal, it starts nothing new, lets the writes in flight
finish, and returns what was applied so that the change can undo it.

Short-lived: pinned to the worker deployment version it started on (docs/upgrading.md), so a
change of its code needs no patch."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.common import VersioningBehavior
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.messages import AuditInput, PlantRolloutInput, PlantRolloutResult
    from domain.rollout.progress import progress_note
    from domain.rollout.tasks import RolloutTask, TaskStatus, ready_tasks
    from workflows.audit_trail import AuditWriter
    from workflows.task_activities import start_task_activity


@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class PlantRolloutWorkflow:
    @workflow.init
    def __init__(self, inp: PlantRolloutInput) -> None:
        self._inp = inp
        self._tasks = [t.model_copy() for t in inp.tasks]
        self._stop = False
        self._audit_seq = 0
        self._inflight: dict[str, tuple[RolloutTask, Any]] = {}
        self._writer = AuditWriter(workflow.set_current_details, self._show_progress)

    @workflow.signal(description="Start nothing new; let the writes in flight finish.")
    def stop(self) -> None:
        self._stop = True

    @workflow.query(description="The plant's tasks as they stand.")
    def tasks(self) -> list[RolloutTask]:
        return self._tasks

    @workflow.run
    async def run(self, inp: PlantRolloutInput) -> PlantRolloutResult:
        try:
            while not self._stop and not self._failed():
                ready = ready_tasks(self._tasks, others_finished=True)
                if not ready:
                    break
                for task in ready:
                    task.status = TaskStatus.running
                self._show_progress()
                await asyncio.gather(*(self._apply(task) for task in ready))
        except asyncio.CancelledError:  # cancelled in Temporal: settle, and report
            self._stop = True
            for task, handle in list(self._inflight.values()):
                await self._settle(task, handle)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._writer.flushed()  # every event in the store before the plant reports
        unfinished = any(t.status == TaskStatus.pending for t in self._tasks)
        return PlantRolloutResult(
            plant=inp.plant, tasks=self._tasks, stopped=self._stop and unfinished
        )

    def _show_progress(self) -> None:
        """The plant's progress in the Web UI's details (no history event: workflow metadata)."""
        workflow.set_current_details(progress_note(self._tasks))

    def _failed(self) -> bool:
        return any(t.status == TaskStatus.failed for t in self._tasks)

    async def _apply(self, task: RolloutTask) -> None:
        task.attempts += 1
        handle = start_task_activity("apply_task", self._inp.change_id, task, task.summary)
        self._inflight[task.id] = (task, handle)
        await self._settle(task, handle)

    async def _settle(self, task: RolloutTask, handle: Any) -> None:
        """The write's outcome, once: status first, then the audit."""
        try:
            result = await asyncio.shield(handle)
        except ActivityError as err:
            self._inflight.pop(task.id, None)
            task.status, task.error = TaskStatus.failed, str(err.cause or err)
            self._audit("task.failed", {"task_id": task.id, "error": task.error})
        else:
            self._inflight.pop(task.id, None)
            task.status, task.before, task.error = TaskStatus.done, result.before, None
            self._audit(
                "task.applied",
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
        self._show_progress()

    def _audit(self, action: str, detail: dict[str, Any]) -> None:
        self._audit_seq += 1
        self._writer.add(
            AuditInput(
                change_id=self._inp.change_id,
                event_key=f"{self._inp.change_id}:{workflow.info().run_id}:{self._audit_seq}",
                chain_key=self._inp.chain_key,
                actor="changeflow",
                action=action,
                detail=detail,
                workflow_id=workflow.info().workflow_id,
                run_id=workflow.info().run_id,
            )
        )
