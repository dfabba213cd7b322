"""A plan small enough for history (its tasks in the change's state) rolls out wave by wave:
central systems from the change itself, then the pilot plant and then the other plants, each
plant as a child workflow (workflows/change/plants.py). The pilot is read back before any other
plant is touched; a failed task holds the change for a person; a rollback undoes every applied
task in reverse dependency order; verification reads every system back."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.change.stages import ChangeStage
    from domain.lifecycle.details import tasks_note
    from domain.messages import ResolveAction, VerifyResult
    from domain.rollout.plan import PILOT_WAVE
    from domain.rollout.tasks import (
        RolloutTask,
        TaskStatus,
        compensation_order,
        open_wave,
        ready_tasks,
    )
    from workflows.change.context import ChangeContext
    from workflows.change.hold import PersonHold, rolled_back_note
    from workflows.change.plants import PlantWaves
    from workflows.change.writes import TaskWrites
    from workflows.task_activities import read_back_by_queue


class InlineRollout:
    """The rollout strategy for a plan whose tasks are in the state."""

    def __init__(self, ctx: ChangeContext, hold: PersonHold) -> None:
        self._ctx = ctx
        self._hold = hold
        self._plants = PlantWaves(ctx)
        self._writes = TaskWrites(ctx)

    async def roll_out(self) -> bool:
        """Run the task DAG wave by wave. False: rolled back (cancelled, the pilot did not
        verify, or a person chose to)."""
        ctx, state = self._ctx, self._ctx.state
        ctx.set_stage(ChangeStage.rolling_out, tasks_note(state))
        pilot_checked = False
        while True:
            if ctx.cancel is not None:
                state.outcome = ctx.cancel_note()
                await self.roll_back()
                return False
            if not pilot_checked and self._pilot_wave_finished():
                pilot_checked = True
                failures = await self._verify_pilot()
                if failures:
                    state.outcome = (
                        f"the pilot plant {state.pilot_plant} did not verify, so no other "
                        "plant was touched: " + "; ".join(failures)
                    )
                    await self.roll_back()
                    return False
            wave = open_wave(state.tasks)  # one at a time: central systems, the pilot, the rest
            ready = [t for t in ready_tasks(state.tasks) if t.wave == wave]
            if ready and ready[0].wave >= PILOT_WAVE:
                plants = self._plants.to_run(ready)
                if plants:  # each plant as a child workflow; a plant that failed waits
                    await self._plants.run(ready[0].wave, plants)
                    continue
                ready = []
            if ready:
                await asyncio.gather(*(self._writes.apply(task) for task in ready))
                ctx.refresh_details()
                continue
            failed = [t for t in state.tasks if t.status == TaskStatus.failed]
            if not failed:
                return True
            if not await self._resolve(failed[0]):
                return False

    async def _resolve(self, task: RolloutTask) -> bool:
        """Hold for a person, then carry out the answer. False: the change was rolled back."""
        resolution = await self._hold.wait(task.id, task.error or "", task.plant)
        if resolution is None:  # cancelled while on hold: the rollout loop rolls back
            return True
        if resolution.action == ResolveAction.rollback:
            self._ctx.state.outcome = rolled_back_note(resolution, task.id)
            await self.roll_back()
            return False
        if resolution.action == ResolveAction.retry:
            task.status = TaskStatus.pending
        else:
            task.status = TaskStatus.skipped
            task.skipped_by, task.skip_reason = resolution.by, resolution.comment
        task.error = None
        self._ctx.set_stage(ChangeStage.rolling_out, f"{task.id}: {resolution.action.value}")
        return True

    async def roll_back(self) -> None:
        """Undo done tasks in reverse dependency order."""
        for task in compensation_order(self._ctx.state.tasks):
            await self._writes.undo(task)

    async def verify(self) -> list[str]:
        """Read back every applied task; a skipped one counts as not verified."""
        tasks = self._ctx.state.tasks
        done = [t for t in tasks if t.status == TaskStatus.done]
        failures, results = await self._read_back(done)
        skipped = [t for t in tasks if t.status == TaskStatus.skipped]
        for task in skipped:
            task.verified = False
        detail: dict[str, Any] = {
            "checked": len(results),
            "failures": failures,
            "readback": {r.task_id: r.detail for r in results},
        }
        if skipped:
            detail["not_verified"] = {t.id: "skipped" for t in skipped}
        self._ctx.audit("change.verified", "changeflow", detail)
        return failures

    async def settle(self) -> None:
        """After a Temporal cancellation: the plants stopped and their results taken, the
        writes in flight let finish."""
        await self._plants.collect()
        await self._writes.settle_inflight()

    def applied(self) -> bool:
        return any(t.status == TaskStatus.done for t in self._ctx.state.tasks)

    def undone(self) -> bool:
        return any(t.status == TaskStatus.compensated for t in self._ctx.state.tasks)

    def _pilot_wave_finished(self) -> bool:
        """True once the pilot's tasks are finished and other plants' tasks are still to run."""
        tasks = self._ctx.state.tasks
        current = open_wave(tasks)
        return (
            any(t.wave == PILOT_WAVE for t in tasks)
            and any(t.wave > PILOT_WAVE for t in tasks)
            and current is not None
            and current > PILOT_WAVE
        )

    async def _verify_pilot(self) -> list[str]:
        """Read back the pilot plant's applied tasks before any other plant is touched."""
        state = self._ctx.state
        done = [t for t in state.tasks if t.wave == PILOT_WAVE and t.status == TaskStatus.done]
        failures, _results = await self._read_back(done)
        self._ctx.audit(
            "pilot.verified",
            "changeflow",
            {"plant": state.pilot_plant, "checked": len(done), "failures": failures},
        )
        return failures

    async def _read_back(self, tasks: list[RolloutTask]) -> tuple[list[str], list[VerifyResult]]:
        """Read every task's system back; marks each task verified or not."""
        results = await read_back_by_queue(self._ctx.state.change_id, tasks)
        failures = []
        for task, result in zip(tasks, results, strict=True):
            task.verified = result.ok
            if not result.ok:
                failures.append(f"{task.id}: {result.detail}")
        return failures, results
