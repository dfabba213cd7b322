"""The rollout part of ChangeWorkflow: the task DAG wave by wave, holds for a person, rollback
in reverse dependency order, verification by read-back, and what a Temporal cancellation does
(writes in flight are let finish, then everything applied is undone)."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.change.stages import ChangeStage
    from domain.lifecycle.details import tasks_note
    from domain.lifecycle.state import Hold
    from domain.messages import (
        CancelRequest,
        Resolution,
        ResolveAction,
        VerifyResult,
    )
    from domain.rollout.plan import PILOT_WAVE
    from domain.rollout.tasks import (
        RolloutTask,
        TaskStatus,
        compensation_order,
        open_wave,
        ready_tasks,
    )
    from workflows.change.batches import ChangeBatches
    from workflows.change.plants import PLANT_WORKFLOWS_PATCH, ChangePlants
    from workflows.task_activities import read_back_by_queue, start_task_activity

PILOT_WAVE_PATCH = "pilot-wave-first"  # patch: earlier runs roll out every plant at once


class ChangeRollout(ChangeBatches, ChangePlants):
    # -- rollout ------------------------------------------------------------------------------
    async def _roll_out(self) -> bool:
        """Run the task DAG wave by wave; a failed task puts the change on hold for a person."""
        if self._is_large():
            return await self._roll_out_batches()
        await self._set_stage(ChangeStage.rolling_out, tasks_note(self._state))
        waves = self._versions.patched(PILOT_WAVE_PATCH)
        plant_workflows = waves and self._versions.patched(PLANT_WORKFLOWS_PATCH)
        pilot_checked = False
        while True:
            if self._cancel is not None:
                self._state.outcome = self._cancel_note()
                await self._roll_back()
                return False
            if waves and not pilot_checked and self._pilot_wave_finished():
                pilot_checked = True
                failures = await self._verify_pilot()
                if failures:
                    self._state.outcome = (
                        f"the pilot plant {self._state.pilot_plant} did not verify, so no other "
                        "plant was touched: " + "; ".join(failures)
                    )
                    await self._roll_back()
                    return False
            ready = ready_tasks(self._state.tasks)
            if waves:  # one wave at a time: central systems, the pilot plant, the rest
                ready = [t for t in ready if t.wave == open_wave(self._state.tasks)]
            if plant_workflows and ready and ready[0].wave >= PILOT_WAVE:
                plants = self._plants_to_run(ready)
                if plants:  # each plant as a child workflow; a plant that failed waits
                    await self._run_plants(ready[0].wave, plants)
                    continue
                ready = []
            if ready:
                await asyncio.gather(*(self._run_task(task) for task in ready))
                self._refresh_details()
                continue
            failed = [t for t in self._state.tasks if t.status == TaskStatus.failed]
            if not failed:
                return True
            task = failed[0]
            resolution = await self._hold_for(task.id, task.error or "", task.plant)
            if resolution is None:  # cancelled while on hold
                continue
            if resolution.action == ResolveAction.rollback:
                self._state.outcome = f"rolled back by {resolution.by} after {task.id} failed" + (
                    f": {resolution.comment}" if resolution.comment else ""
                )
                await self._roll_back()
                return False
            if resolution.action == ResolveAction.retry:
                task.status = TaskStatus.pending
            else:
                task.status = TaskStatus.skipped
                task.skipped_by, task.skip_reason = resolution.by, resolution.comment
            task.error = None
            await self._set_stage(ChangeStage.rolling_out, f"{task.id}: {resolution.action.value}")

    async def _hold_for(self, task_id: str, error: str, plant: str | None) -> Resolution | None:
        """On hold until a person answers (the answer, audited) or the change is cancelled."""
        self._holds += 1
        self._state.hold = Hold(
            task_id=task_id, error=error, since=workflow.now(), hold_id=self._holds, plant=plant
        )
        await self._set_stage(ChangeStage.on_hold, f"{task_id} failed: {error}")
        await workflow.wait_condition(
            lambda: self._resolution is not None or self._cancel is not None
        )
        resolution, self._resolution = self._resolution, None
        self._state.hold = None
        if resolution is not None:
            await self._audit(
                f"task.{resolution.action.value}",
                resolution.by,
                {"task_id": task_id, "comment": resolution.comment},
            )
        return resolution

    def _pilot_wave_finished(self) -> bool:
        """True once the pilot's tasks are finished and other plants' tasks are still to run."""
        tasks = self._state.tasks
        current = open_wave(tasks)
        return (
            any(t.wave == PILOT_WAVE for t in tasks)
            and any(t.wave > PILOT_WAVE for t in tasks)
            and current is not None
            and current > PILOT_WAVE
        )

    async def _verify_pilot(self) -> list[str]:
        """Read back the pilot plant's applied tasks before any other plant is touched."""
        pilot = [t for t in self._state.tasks if t.wave == PILOT_WAVE]
        done = [t for t in pilot if t.status == TaskStatus.done]
        failures, _results = await self._read_back(done)
        await self._audit(
            "pilot.verified",
            "changeflow",
            {"plant": self._state.pilot_plant, "checked": len(done), "failures": failures},
        )
        return failures

    async def _read_back(self, tasks: list[RolloutTask]) -> tuple[list[str], list[VerifyResult]]:
        """Read every task's system back; marks each task verified or not."""
        if self._versions.patched("batched-read-back"):
            results = await read_back_by_queue(self._state.change_id, tasks)
        else:
            results = await asyncio.gather(*(self._verify_task(task) for task in tasks))
        failures = []
        for task, result in zip(tasks, results, strict=True):
            task.verified = result.ok
            if not result.ok:
                failures.append(f"{task.id}: {result.detail}")
        return failures, list(results)

    def _start_task_activity(self, name: str, task: RolloutTask, summary: str) -> Any:
        """Start a connector activity and remember it until it ends: if the workflow is
        cancelled meanwhile, the write is let finish (shielded) so that it can be undone."""
        handle = start_task_activity(name, self._state.change_id, task, summary)
        self._inflight[f"{name}:{task.id}"] = (task, handle, name)
        return handle

    async def _run_task(self, task: RolloutTask) -> None:
        task.status = TaskStatus.running
        task.attempts += 1
        handle = self._start_task_activity("apply_task", task, task.summary)
        await self._settle_apply(task, handle)

    async def _settle_apply(self, task: RolloutTask, handle: Any) -> None:
        try:
            result = await asyncio.shield(handle)
        except ActivityError as err:
            self._inflight.pop(f"apply_task:{task.id}", None)
            task.status = TaskStatus.failed
            task.error = str(err.cause or err)
            await self._audit(
                "task.failed", "changeflow", {"task_id": task.id, "error": task.error}
            )
            return
        self._inflight.pop(f"apply_task:{task.id}", None)
        task.status = TaskStatus.done
        task.before = result.before
        await self._audit(
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

    async def _roll_back(self) -> None:
        """Compensate done tasks in reverse dependency order."""
        if self._is_large():
            await self._roll_back_batches()
            return
        for task in compensation_order(self._state.tasks):
            handle = self._start_task_activity("compensate_task", task, f"Undo: {task.summary}")
            await self._settle_compensation(task, handle)

    async def _settle_compensation(self, task: RolloutTask, handle: Any) -> None:
        try:
            await asyncio.shield(handle)
        except ActivityError as err:
            self._inflight.pop(f"compensate_task:{task.id}", None)
            problem = f"{task.id}: {err.cause or err}"
            self._state.outcome += "; needs manual undo: " + problem
            task.status = TaskStatus.failed
            task.error = f"compensation failed: {err.cause or err}"
            await self._audit(
                "task.compensation_failed",
                "changeflow",
                {"task_id": task.id, "error": str(err.cause or err)},
            )
            return
        self._inflight.pop(f"compensate_task:{task.id}", None)
        task.status = TaskStatus.compensated
        await self._audit(
            "task.compensated", "changeflow", {"task_id": task.id, "restored": task.before}
        )

    async def _after_temporal_cancel(self) -> None:
        """Temporal cancelled the workflow (Web UI, CLI): settle the writes in flight, undo
        what was applied, end cancelled or rolled back, and leave it in the audit trail."""
        if self._cancel is None:
            self._cancel = CancelRequest(
                by="temporal", reason="cancellation requested in Temporal (Web UI or CLI)"
            )
            await self._audit(
                "change.cancel_requested", "temporal", {"reason": self._cancel.reason}
            )
        await self._settle_batches()
        await self._collect_plants()
        for task, handle, name in list(self._inflight.values()):
            if name == "apply_task":
                await self._settle_apply(task, handle)
            else:
                await self._settle_compensation(task, handle)
        if any(t.status == TaskStatus.done for t in self._state.tasks) or (
            self._state.task_counts.get("done", 0) > 0
        ):
            self._state.outcome = self._cancel_note()
            await self._roll_back()
            await self._finish(ChangeStage.rolled_back, self._state.outcome)
        elif any(t.status == TaskStatus.compensated for t in self._state.tasks):
            await self._finish(ChangeStage.rolled_back, self._state.outcome or self._cancel_note())
        else:
            await self._finish(ChangeStage.cancelled, self._cancel_note())

    async def _verify(self) -> list[str]:
        if self._is_large():
            failures = await self._verify_batches()
            await self._audit(
                "change.verified",
                "changeflow",
                {"tasks": self._state.task_counts, "failures": failures[:50]},
            )
            return failures
        done = [t for t in self._state.tasks if t.status == TaskStatus.done]
        failures, results = await self._read_back(done)
        skipped = [t for t in self._state.tasks if t.status == TaskStatus.skipped]
        for task in skipped:
            task.verified = False
        detail: dict[str, Any] = {
            "checked": len(results),
            "failures": failures,
            "readback": {r.task_id: r.detail for r in results},
        }
        if skipped:
            detail["not_verified"] = {t.id: "skipped" for t in skipped}
        await self._audit("change.verified", "changeflow", detail)
        return failures

    async def _verify_task(self, task: RolloutTask) -> VerifyResult:
        """A read-back that cannot be done counts as a failed verification."""
        try:
            return await start_task_activity(
                "verify_task", self._state.change_id, task, f"Verify: {task.summary}"
            )
        except ActivityError as err:
            return VerifyResult(
                task_id=task.id, ok=False, detail=f"could not read back: {err.cause or err}"
            )
