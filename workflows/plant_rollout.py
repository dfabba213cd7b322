"""PlantRolloutWorkflow: one plant's tasks of one wave, as a child of the change
(`{change_id}.{PLANT}`). It applies the tasks in dependency order, each on the queue that
reaches its system (the plant's own queue for MES, QMS and LMS), audits each one, answers for
its progress (the `tasks` query: the change names the plants rolling out, readers ask them; runs
from before `plant-progress-by-query` signalled the change each task it started or finished),
and returns the tasks as they ended. The first task a system refuses stops the plant:
nothing after it there runs, and the change holds for a person. Asked to stop (the change is
being cancelled), or cancelled itself in Temporal, it starts nothing new, lets the writes in
flight finish, and returns what was applied so that the change can undo it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from domain.messages import (
        AuditInput,
        PlantReport,
        PlantRolloutInput,
        PlantRolloutResult,
        TaskProgress,
    )
    from domain.rollout.progress import progress_note
    from domain.rollout.tasks import RolloutTask, TaskStatus, ready_tasks
    from workflows.audit_trail import AuditWriter, send_audit
    from workflows.change.base import BATCHED_AUDIT_PATCH, LOCAL_AUDIT_PATCH
    from workflows.task_activities import start_task_activity
    from workflows.versions import Versions

PROGRESS_SIGNAL = "plant_progress"
ASYNC_PROGRESS_PATCH = "async-plant-progress"
COALESCED_PROGRESS_PATCH = "coalesced-plant-progress"  # patch: earlier runs told each task
QUERY_PROGRESS_PATCH = "plant-progress-by-query"  # patch: earlier runs signalled the change


@workflow.defn
class PlantRolloutWorkflow:
    @workflow.init
    def __init__(self, inp: PlantRolloutInput) -> None:
        self._versions = Versions()  # first: which patches this run takes
        self._inp = inp
        self._tasks = [t.model_copy() for t in inp.tasks]
        self._stop = False
        self._audit_seq = 0
        self._chain_refused = False
        self._inflight: dict[str, tuple[RolloutTask, Any]] = {}
        self._signals: list[asyncio.Future] = []  # progress reports on their way
        self._writer: AuditWriter | None = None
        self._coalesce = False  # a step's last outcome told with the next step's start
        self._quiet = False  # progress by query: nothing signalled to the change
        self._settled: list[RolloutTask] = []  # finished, not yet told to the change

    @workflow.signal(description="Start nothing new; let the writes in flight finish.")
    def stop(self) -> None:
        self._stop = True

    @workflow.query(description="The plant's tasks as they stand.")
    def tasks(self) -> list[RolloutTask]:
        return self._tasks

    @workflow.run
    async def run(self, inp: PlantRolloutInput) -> PlantRolloutResult:
        if self._versions.patched(BATCHED_AUDIT_PATCH):
            self._writer = AuditWriter(
                workflow.set_current_details,
                self._show_progress,
                self._versions.patched(LOCAL_AUDIT_PATCH),
            )
        self._coalesce = self._versions.patched(COALESCED_PROGRESS_PATCH)
        # quiet unless the change is a run from before progress by query: it reads signals
        self._quiet = self._versions.patched(QUERY_PROGRESS_PATCH) and inp.by_query is not False
        try:
            while not self._stop and not self._failed():
                ready = ready_tasks(self._tasks, others_finished=True)
                if not ready:
                    break
                for task in ready:
                    task.status = TaskStatus.running
                self._show_progress()
                await self._tell_change(self._told(ready))  # with the step before's outcome
                await asyncio.gather(*(self._apply(task) for task in ready))
        except asyncio.CancelledError:  # cancelled in Temporal: settle, and report
            self._stop = True
            for task, handle in list(self._inflight.values()):
                await self._settle(task, handle)
        if self._settled:
            await self._tell_change(self._told([]))
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self._signals, return_exceptions=True)  # delivered before the end
        if self._writer is not None:
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
        """The write's outcome, once: status first, then the audit and the change's progress."""
        try:
            result = await asyncio.shield(handle)
        except ActivityError as err:
            self._inflight.pop(task.id, None)
            task.status, task.error = TaskStatus.failed, str(err.cause or err)
            await self._audit("task.failed", {"task_id": task.id, "error": task.error})
        else:
            self._inflight.pop(task.id, None)
            task.status, task.before, task.error = TaskStatus.done, result.before, None
            await self._audit(
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
        if not self._coalesce:
            await self._tell_change([task])
            return
        self._settled.append(task)
        if self._inflight:  # others of its step still run, maybe long: the change hears now
            await self._tell_change(self._told([]))
        # else the step is over: told with the next step's start, in this same workflow task,
        # or at the end; nothing finished goes untold while the plant waits on a write

    def _told(self, starting: list[RolloutTask]) -> list[RolloutTask]:
        """The tasks to report now: those settled since the last report, then those starting."""
        settled, self._settled = self._settled, []
        return settled + starting

    async def _audit(self, action: str, detail: dict) -> None:
        if self._chain_refused:
            return
        self._audit_seq += 1
        record = AuditInput(
            change_id=self._inp.change_id,
            event_key=f"{self._inp.change_id}:{workflow.info().run_id}:{self._audit_seq}",
            chain_key=self._inp.chain_key,
            actor="changeflow",
            action=action,
            detail=detail,
            workflow_id=workflow.info().workflow_id,
            run_id=workflow.info().run_id,
        )
        if self._writer is not None:
            self._writer.add(record)
            return
        if not await send_audit(record, workflow.set_current_details):
            self._chain_refused = True
        self._show_progress()

    async def _tell_change(self, tasks: list[RolloutTask]) -> None:
        """Progress signalled to the change (runs from before plant-progress-by-query); the result
        this workflow returns is what counts."""
        parent = workflow.info().parent
        if parent is None or self._quiet:
            return
        report = PlantReport(
            tasks=[
                TaskProgress(task_id=t.id, status=t.status.value, before=t.before, error=t.error)
                for t in tasks
            ]
        )
        signal = workflow.get_external_workflow_handle(
            parent.workflow_id, run_id=parent.run_id
        ).signal(PROGRESS_SIGNAL, report)
        if self._versions.patched(ASYNC_PROGRESS_PATCH):  # sent, not waited for: display only
            self._signals.append(asyncio.ensure_future(_quietly(signal)))
            return
        await _quietly(signal)


async def _quietly(signal: Any) -> None:
    with contextlib.suppress(FailureError):  # the change has ended: nobody to tell
        await signal
