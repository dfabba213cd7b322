"""Rollout activities: apply, compensate and verify one task in one system of one plant, each
through the task's action handler (activities/actions/). They heartbeat while the system works,
so a lost worker's task is retried within the heartbeat timeout."""

from __future__ import annotations

import asyncio

from temporalio import activity

from activities.actions.base import ActionContext
from activities.actions.registry import handler_for
from activities.deps import ActivityDeps
from activities.failures import compensation_mismatch, connector_failure
from activities.heartbeat import heartbeating
from connectors.errors import ConnectorError, RejectedConnectorError
from domain.messages import TaskInput, TaskResult, VerifyResult, VerifyTasks
from infra.logs import get_logger


class RolloutActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps

    def _context(self, inp: TaskInput) -> ActionContext:
        return ActionContext(
            change_id=inp.change_id, task=inp.task, connectors=self.deps.connectors
        )

    @activity.defn(name="apply_task")
    async def apply_task(self, inp: TaskInput) -> TaskResult:
        """The task's write, once: a repeat with the same key changes nothing."""
        ctx = self._context(inp)
        log = get_logger(change_id=inp.change_id, task_id=inp.task.id, key=ctx.key())
        try:
            async with heartbeating():
                result = await handler_for(inp.task.action).apply(ctx)
        except ConnectorError as exc:
            log.warning("task write failed", error=str(exc))
            raise connector_failure(exc) from exc
        log.info("task applied", replayed=result.replayed, detail=result.detail)
        return result

    @activity.defn(name="compensate_task")
    async def compensate_task(self, inp: TaskInput) -> TaskResult:
        """Undo a done task: the inverse write, with its own idempotency key, then read back
        like a write: a system that does not show what it held before the change fails with
        CompensationMismatch (not retried; the change holds). A read that fails transiently
        is retried with the rest (the undo write is then a replay)."""
        ctx = self._context(inp)
        log = get_logger(change_id=inp.change_id, task_id=inp.task.id)
        handler = handler_for(inp.task.action)
        try:
            async with heartbeating():
                result = await handler.compensate(ctx)
                check = await handler.read_back_undone(ctx)
        except ConnectorError as exc:
            raise connector_failure(exc) from exc
        if not check.ok:
            log.warning("compensation not confirmed", detail=check.detail)
            raise compensation_mismatch(inp.task.id, check.detail)
        log.info("task compensated", detail=check.detail)
        return result

    @activity.defn(name="verify_tasks")
    async def verify_tasks(self, inp: VerifyTasks) -> list[VerifyResult]:
        """Read back several tasks at once (one queue's): a refused read-back fails that task's
        verification; a transient error retries the whole read, which writes nothing."""

        async def one(task) -> VerifyResult:
            ctx = ActionContext(change_id=inp.change_id, task=task, connectors=self.deps.connectors)
            try:
                return await handler_for(task.action).read_back(ctx)
            except RejectedConnectorError as exc:
                return VerifyResult(task_id=task.id, ok=False, detail=f"could not read back: {exc}")

        try:
            async with heartbeating():
                return list(await asyncio.gather(*(one(task) for task in inp.tasks)))
        except ConnectorError as exc:
            raise connector_failure(exc) from exc
