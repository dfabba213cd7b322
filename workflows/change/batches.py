"""A large plan's rollout (more than LARGE_PLAN tasks): the tasks stay in the store and run in
batches, one activity per slice of a wave in dependency order, so the history stays small
whatever the plan's size. The workflow keeps counts and the task on hold; waves, the pilot's
read-back, holds, rollback and cancellation work as for a small plan."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.change.stages import ChangeStage
    from domain.messages import BatchInput, BatchResult, Resolution, ResolveAction, TaskMark
    from domain.rollout.plan import BATCH_SIZE, PILOT_WAVE
    from workflows.change.base import ChangeBase

BATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)
BATCH_HEARTBEAT = timedelta(seconds=10)


class ChangeBatches(ChangeBase):
    _batches_inflight: list[Any]
    _batch_done: dict[str, int]  # tasks done per batch, a resumed batch's earlier ones included

    async def _hold_for(
        self, task_id: str, error: str, plant: str | None
    ) -> Resolution | None:  # ChangeRollout's
        raise NotImplementedError

    def _is_large(self) -> bool:
        return not self._state.tasks and bool(self._state.wave_sizes)

    def _offsets(self, wave: int) -> list[int]:
        return list(range(0, self._state.wave_sizes.get(wave, 0), BATCH_SIZE))

    async def _batch(self, step: str, wave: int, offset: int) -> BatchResult:
        """One batch activity, let finish even if the workflow is cancelled meanwhile."""
        size = self._state.wave_sizes.get(wave, 0)
        handle = workflow.start_activity(
            f"{step}_batch",
            BatchInput(
                change_id=self._state.change_id,
                plan_id=self._state.plan_id or "",
                wave=wave,
                offset=offset,
                limit=BATCH_SIZE,
                step=step,
            ),
            result_type=BatchResult,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=BATCH_HEARTBEAT,
            retry_policy=BATCH_RETRY,
            summary=f"{step} wave {wave}: tasks {offset + 1}-{min(offset + BATCH_SIZE, size)}",
        )
        self._batches_inflight.append(handle)
        try:
            return await asyncio.shield(handle)
        finally:
            if handle.done():
                self._batches_inflight.remove(handle)

    def _count(self, status: str, n: int) -> None:
        counts = self._state.task_counts
        counts[status] = counts.get(status, 0) + n

    async def _roll_out_batches(self) -> bool:
        total = sum(self._state.wave_sizes.values())
        self._state.task_counts = {"done": 0}
        await self._set_stage(ChangeStage.rolling_out, f"{total} tasks in batches of {BATCH_SIZE}")
        waves = sorted(self._state.wave_sizes)
        for wave in waves:
            for offset in self._offsets(wave):
                if not await self._run_batch_until_done(wave, offset):
                    return False
            if wave == PILOT_WAVE and any(w > PILOT_WAVE for w in waves):
                failures = await self._verify_batches([PILOT_WAVE])
                await self._audit(
                    "pilot.verified",
                    "changeflow",
                    {"plant": self._state.pilot_plant, "failures": failures},
                )
                if failures:
                    self._state.outcome = (
                        f"the pilot plant {self._state.pilot_plant} did not verify, so no other "
                        "plant was touched: " + "; ".join(failures)
                    )
                    await self._roll_back_batches()
                    return False
        return True

    async def _run_batch_until_done(self, wave: int, offset: int) -> bool:
        """Apply one batch; a failed task holds the change for a person. False: rolled back."""
        while True:
            if self._cancel is not None:
                self._state.outcome = self._cancel_note()
                await self._roll_back_batches()
                return False
            try:
                result = await self._batch("apply", wave, offset)
            except ActivityError as err:  # retries exhausted: a person decides
                resolution = await self._hold_for(
                    f"batch-{wave}-{offset}", str(err.cause or err), None
                )
                if not await self._after_resolution(resolution, None):
                    return False
                continue
            self._batch_done[f"{wave}:{offset}"] = result.done + result.already
            self._state.task_counts["done"] = sum(self._batch_done.values())
            await self._audit(
                "tasks.applied",
                "changeflow",
                {"wave": wave, "offset": offset, "done": result.done, "already": result.already},
            )
            self._refresh_details()
            if not result.failed:
                return True
            failed = result.failed[0]
            resolution = await self._hold_for(failed.task_id, failed.error, failed.plant)
            if not await self._after_resolution(resolution, failed.task_id):
                return False

    async def _after_resolution(self, resolution: Resolution | None, task_id: str | None) -> bool:
        """Carry out a person's answer to a held batch task. False: the change was rolled back."""
        if resolution is None:  # cancelled while on hold: the loop rolls back
            return True
        if resolution.action == ResolveAction.rollback:
            comment = f": {resolution.comment}" if resolution.comment else ""
            self._state.outcome = (
                f"rolled back by {resolution.by} after {resolution.task_id} failed{comment}"
            )
            await self._roll_back_batches()
            return False
        if task_id is not None:
            skip = resolution.action == ResolveAction.skip
            await workflow.execute_activity(
                "mark_task",
                TaskMark(
                    change_id=self._state.change_id,
                    task_id=task_id,
                    status="skipped" if skip else "pending",
                    by=resolution.by,
                    reason=resolution.comment,
                ),
                start_to_close_timeout=timedelta(seconds=30),
                summary=f"{task_id}: {resolution.action.value}",
            )
            if skip:
                self._count("skipped", 1)
                self._state.deviations.append(
                    f"{task_id} skipped by {resolution.by} ({resolution.comment}): not applied; "
                    "tasks after it in its plant were applied on top of it"
                )
        await self._set_stage(ChangeStage.rolling_out, f"{resolution.task_id}: retried/skipped")
        return True

    async def _verify_batches(self, waves: list[int] | None = None) -> list[str]:
        failures: list[str] = []
        for wave in waves if waves is not None else sorted(self._state.wave_sizes):
            for offset in self._offsets(wave):
                result = await self._batch("verify", wave, offset)
                failures += [f"{f.task_id}: {f.error}" for f in result.failed]
        return failures

    async def _roll_back_batches(self) -> None:
        """Undo every applied task, last wave and last batch first."""
        for wave in sorted(self._state.wave_sizes, reverse=True):
            for offset in reversed(self._offsets(wave)):
                result = await self._batch("compensate", wave, offset)
                self._count("compensated", result.done)
                if result.failed:
                    self._state.outcome += "; needs manual undo: " + "; ".join(
                        f"{f.task_id}: {f.error}" for f in result.failed
                    )

    async def _settle_batches(self) -> None:
        """After a Temporal cancellation: let the batches in flight finish before undoing."""
        for handle in list(self._batches_inflight):
            with contextlib.suppress(ActivityError):
                await handle
