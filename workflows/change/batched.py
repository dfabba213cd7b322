"""A large plan (more than LARGE_PLAN tasks) rolls out from the store: its tasks never enter
history and run in batches, one activity per slice of a wave in dependency order, so the history
stays small whatever the plan's size. The change keeps counts and the task on hold; waves, the
pilot's read-back, holds, rollback and cancellation work as for a plan in the state
(workflows/change/inline.py)."""

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
    from workflows.change.context import ChangeContext
    from workflows.change.hold import PersonHold, rolled_back_note

BATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)
BATCH_HEARTBEAT = timedelta(seconds=10)


class BatchedRollout:
    """The rollout strategy for a plan that stays in the store."""

    def __init__(self, ctx: ChangeContext, hold: PersonHold) -> None:
        self._ctx = ctx
        self._hold = hold
        self._inflight: list[Any] = []  # batch activities not yet ended
        self._done: dict[str, int] = {}  # tasks done per batch, a resumed batch's included

    async def roll_out(self) -> bool:
        """Every wave, batch by batch, the pilot read back before the other plants. False:
        rolled back (cancelled, the pilot did not verify, or a person chose to)."""
        ctx, state = self._ctx, self._ctx.state
        total = sum(state.wave_sizes.values())
        state.task_counts = {"done": 0}
        ctx.set_stage(ChangeStage.rolling_out, f"{total} tasks in batches of {BATCH_SIZE}")
        waves = sorted(state.wave_sizes)
        for wave in waves:
            for offset in self._offsets(wave):
                if not await self._apply_until_done(wave, offset):
                    return False
            if wave == PILOT_WAVE and any(w > PILOT_WAVE for w in waves):
                failures = await self._read_back([PILOT_WAVE])
                ctx.audit(
                    "pilot.verified",
                    "changeflow",
                    {"plant": state.pilot_plant, "failures": failures},
                )
                if failures:
                    state.outcome = (
                        f"the pilot plant {state.pilot_plant} did not verify, so no other "
                        "plant was touched: " + "; ".join(failures)
                    )
                    await self.roll_back()
                    return False
        return True

    async def roll_back(self) -> None:
        """Undo every applied task, last wave and last batch first."""
        state = self._ctx.state
        for wave in sorted(state.wave_sizes, reverse=True):
            for offset in reversed(self._offsets(wave)):
                result = await self._batch("compensate", wave, offset)
                self._count("compensated", result.done)
                if result.failed:
                    state.outcome += "; needs manual undo: " + "; ".join(
                        f"{f.task_id}: {f.error}" for f in result.failed
                    )

    async def verify(self) -> list[str]:
        """Read back every wave, batch by batch."""
        failures = await self._read_back(sorted(self._ctx.state.wave_sizes))
        self._ctx.audit(
            "change.verified",
            "changeflow",
            {"tasks": self._ctx.state.task_counts, "failures": failures[:50]},
        )
        return failures

    async def settle(self) -> None:
        """After a Temporal cancellation: let the batches in flight finish before undoing."""
        for handle in list(self._inflight):
            with contextlib.suppress(ActivityError):
                await handle

    def applied(self) -> bool:
        return self._ctx.state.task_counts.get("done", 0) > 0

    def undone(self) -> bool:
        return False  # the counts say what was undone, not what is left: roll back again

    async def _apply_until_done(self, wave: int, offset: int) -> bool:
        """Apply one batch; a failed task holds the change for a person. False: rolled back."""
        ctx = self._ctx
        while True:
            if ctx.cancel is not None:
                ctx.state.outcome = ctx.cancel_note()
                await self.roll_back()
                return False
            try:
                result = await self._batch("apply", wave, offset)
            except ActivityError as err:  # retries exhausted: a person decides
                resolution = await self._hold.wait(
                    f"batch-{wave}-{offset}", str(err.cause or err), None
                )
                if not await self._after_resolution(resolution, None):
                    return False
                continue
            self._done[f"{wave}:{offset}"] = result.done + result.already
            ctx.state.task_counts["done"] = sum(self._done.values())
            ctx.audit(
                "tasks.applied",
                "changeflow",
                {"wave": wave, "offset": offset, "done": result.done, "already": result.already},
            )
            ctx.refresh_details()
            if not result.failed:
                return True
            failed = result.failed[0]
            resolution = await self._hold.wait(failed.task_id, failed.error, failed.plant)
            if not await self._after_resolution(resolution, failed.task_id):
                return False

    async def _after_resolution(self, resolution: Resolution | None, task_id: str | None) -> bool:
        """Carry out a person's answer to a held batch task. False: the change was rolled back."""
        if resolution is None:  # cancelled while on hold: the loop rolls back
            return True
        state = self._ctx.state
        if resolution.action == ResolveAction.rollback:
            state.outcome = rolled_back_note(resolution, resolution.task_id)
            await self.roll_back()
            return False
        if task_id is not None:
            skip = resolution.action == ResolveAction.skip
            await workflow.execute_activity(
                "mark_task",
                TaskMark(
                    change_id=state.change_id,
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
                state.deviations.append(
                    f"{task_id} skipped by {resolution.by} ({resolution.comment}): not applied; "
                    "tasks after it in its plant were applied on top of it"
                )
        self._ctx.set_stage(ChangeStage.rolling_out, f"{resolution.task_id}: retried/skipped")
        return True

    async def _read_back(self, waves: list[int]) -> list[str]:
        failures: list[str] = []
        for wave in waves:
            for offset in self._offsets(wave):
                result = await self._batch("verify", wave, offset)
                failures += [f"{f.task_id}: {f.error}" for f in result.failed]
        return failures

    def _offsets(self, wave: int) -> list[int]:
        return list(range(0, self._ctx.state.wave_sizes.get(wave, 0), BATCH_SIZE))

    async def _batch(self, step: str, wave: int, offset: int) -> BatchResult:
        """One batch activity, let finish even if the workflow is cancelled meanwhile."""
        state = self._ctx.state
        size = state.wave_sizes.get(wave, 0)
        handle = workflow.start_activity(
            f"{step}_batch",
            BatchInput(
                change_id=state.change_id,
                plan_id=state.plan_id or "",
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
        self._inflight.append(handle)
        try:
            return await asyncio.shield(handle)
        finally:
            if handle.done():
                self._inflight.remove(handle)

    def _count(self, status: str, n: int) -> None:
        counts = self._ctx.state.task_counts
        counts[status] = counts.get(status, 0) + n
