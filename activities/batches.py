"""A large plan's tasks in batches: one activity applies, compensates or reads back one slice of
a wave (in dependency order), task by task through the action handlers, recording each task's
status in the store. It heartbeats its progress; a retried or resumed batch skips what is
already done, and every write carries its task's idempotency key, so nothing applies twice."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.actions.base import ActionContext
from activities.actions.registry import handler_for
from activities.deps import ActivityDeps
from activities.failures import REJECTED, compensation_mismatch_message, connector_failure
from activities.heartbeat import heartbeating
from connectors.errors import ConnectorError, RejectedConnectorError
from domain.messages import BatchInput, BatchResult, FailedTask, TaskMark
from domain.rollout.plan import RolloutPlan, wave_order
from domain.rollout.tasks import RolloutTask
from store.artifacts import load_artifact
from store.plan_tasks import mark_task, task_states

MAX_FAILURES_REPORTED = 50


def _heartbeat_index() -> int:
    """The task a lost attempt was working on when it last heartbeated (0 on a first attempt).
    Tasks before it are done; it is applied again, which its idempotency key makes a replay
    if its write had landed. The store's statuses cover what came after the last heartbeat."""
    details = activity.info().heartbeat_details
    return int(details[0]) if details else 0


class BatchActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps
        self._plans: dict[str, RolloutPlan] = {}

    async def _slice(self, inp: BatchInput) -> list[RolloutTask]:
        plan = self._plans.get(inp.plan_id)
        if plan is None:
            plan = await asyncio.to_thread(
                load_artifact, self.deps.engine, inp.plan_id, RolloutPlan
            )
            if plan is None:
                raise ApplicationError(
                    f"plan {inp.plan_id} is not in the store", non_retryable=True
                )
            self._plans = {inp.plan_id: plan}  # one plan cached per worker is enough
        return wave_order(plan.tasks, inp.wave)[inp.offset : inp.offset + inp.limit]

    async def _mark(self, change_id: str, task_id: str, status: str, **kwargs) -> None:
        await asyncio.to_thread(mark_task, self.deps.engine, change_id, task_id, status, **kwargs)

    @activity.defn(name="apply_batch")
    async def apply_batch(self, inp: BatchInput) -> BatchResult:
        tasks = await self._slice(inp)
        states = await asyncio.to_thread(
            task_states, self.deps.engine, inp.change_id, [t.id for t in tasks]
        )
        result = BatchResult()
        resume = _heartbeat_index()  # a retried attempt: where the lost one got to
        progress = [resume]
        async with heartbeating(details=lambda: (progress[0],)):
            for index, task in enumerate(tasks):
                progress[0] = index
                state = states.get(task.id)
                if state is not None and state.status == "skipped":
                    continue
                if index < resume or (state is not None and state.status == "done"):
                    result.already += 1  # applied before (by an earlier attempt or run)
                    continue
                ctx = ActionContext(
                    change_id=inp.change_id, task=task, connectors=self.deps.connectors
                )
                try:
                    applied = await handler_for(task.action).apply(ctx)
                except (RejectedConnectorError, ApplicationError) as exc:
                    if isinstance(exc, ApplicationError) and exc.type != REJECTED:
                        raise
                    await self._mark(inp.change_id, task.id, "failed", error=str(exc))
                    result.failed.append(
                        FailedTask(task_id=task.id, error=str(exc), plant=task.plant)
                    )
                    return result  # what depends on it must not run: a person decides
                except ConnectorError as exc:
                    raise connector_failure(exc) from exc  # transient: retried, resumes here
                await self._mark(inp.change_id, task.id, "done", before=applied.before)
                result.done += 1
        return result

    @activity.defn(name="compensate_batch")
    async def compensate_batch(self, inp: BatchInput) -> BatchResult:
        """Undo the slice's done tasks, last first, each read back: a task whose system does not
        show what it held before the change stays done and is reported failed, with the same
        wording as compensate_task's CompensationMismatch."""
        tasks = list(reversed(await self._slice(inp)))
        states = await asyncio.to_thread(
            task_states, self.deps.engine, inp.change_id, [t.id for t in tasks]
        )
        result = BatchResult()
        async with heartbeating():
            for task in tasks:
                state = states.get(task.id)
                if state is None or state.status != "done":
                    continue
                task = task.model_copy(update={"before": state.before})
                ctx = ActionContext(
                    change_id=inp.change_id, task=task, connectors=self.deps.connectors
                )
                handler = handler_for(task.action)
                try:
                    await handler.compensate(ctx)
                    check = await handler.read_back_undone(ctx)
                except RejectedConnectorError as exc:
                    if len(result.failed) < MAX_FAILURES_REPORTED:
                        result.failed.append(
                            FailedTask(task_id=task.id, error=str(exc), plant=task.plant)
                        )
                    continue
                except ConnectorError as exc:
                    raise connector_failure(exc) from exc
                if not check.ok:  # undone, but the system does not show what it held: left done
                    if len(result.failed) < MAX_FAILURES_REPORTED:
                        error = compensation_mismatch_message(task.id, check.detail)
                        result.failed.append(
                            FailedTask(task_id=task.id, error=error, plant=task.plant)
                        )
                    continue
                await self._mark(inp.change_id, task.id, "compensated")
                result.done += 1
        return result

    @activity.defn(name="verify_batch")
    async def verify_batch(self, inp: BatchInput) -> BatchResult:
        """Read the slice's done tasks back; a read-back that fails is a failed check."""
        tasks = await self._slice(inp)
        states = await asyncio.to_thread(
            task_states, self.deps.engine, inp.change_id, [t.id for t in tasks]
        )
        result = BatchResult()
        async with heartbeating():
            for task in tasks:
                state = states.get(task.id)
                if state is None or state.status != "done":
                    continue
                task = task.model_copy(update={"before": state.before})
                ctx = ActionContext(
                    change_id=inp.change_id, task=task, connectors=self.deps.connectors
                )
                try:
                    check = await handler_for(task.action).read_back(ctx)
                    ok, detail = check.ok, check.detail
                except ConnectorError as exc:
                    ok, detail = False, f"could not read back: {exc}"
                await self._mark(inp.change_id, task.id, "done", verified=ok)
                if ok:
                    result.done += 1
                elif len(result.failed) < MAX_FAILURES_REPORTED:
                    result.failed.append(FailedTask(task_id=task.id, error=detail))
        return result

    @activity.defn(name="mark_task")
    async def mark(self, inp: TaskMark) -> None:
        """A person's answer to a held task of a large plan: pending again (retry) or skipped."""
        await self._mark(
            inp.change_id, inp.task_id, inp.status, error=inp.reason if inp.reason else None
        )
