"""ChangeWorkflow: one change from assessment through approvals, rollout and verification to close.

Workflow id = change id. It only decides and waits: every side effect is an activity.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.approvals import (
        ApprovalDecision,
        Decision,
        check_decision,
        outcome,
        outstanding,
    )
    from domain.messages import (
        AssessInput,
        AssessResult,
        AuditInput,
        CancelRequest,
        ChangeInput,
        ChangeOutcome,
        Resolution,
        ResolveAction,
        SyncOutcome,
        SyncRequest,
        TaskInput,
        TaskResult,
        VerifyResult,
    )
    from domain.rollout import RolloutTask, TaskStatus, compensation_order, ready_tasks
    from domain.stages import ChangeStage
    from domain.state import ChangeState, Hold, StageEntry
    from workflows.queues import queue_for
    from workflows.search_attributes import CHANGE_STAGE, PLANTS, RISK_LEVEL

INVALID_CHANGE = "InvalidChange"

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)
WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
    non_retryable_error_types=["ConnectorRejected", INVALID_CHANGE],
)
COMPENSATE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=20,
    non_retryable_error_types=["ConnectorRejected"],
)


@workflow.defn
class ChangeWorkflow:
    @workflow.init
    def __init__(self, inp: ChangeInput) -> None:
        request = inp.request
        self._state = ChangeState(
            change_id=inp.change_id,
            title=request.title,
            type=request.type.value,
            stage=ChangeStage.submitted,
            requested_by=request.requested_by,
            submitted_by=inp.submitted_by,
            priority=request.priority.value,
            request=request,
            history=[StageEntry(stage=ChangeStage.submitted, at=workflow.now())],
        )
        self._audit_seq = 0
        self._resolution: Resolution | None = None
        self._cancel: CancelRequest | None = None

    # -- queries and signals ----------------------------------------------------------------
    @workflow.query(description="The full state of the change.")
    def state(self) -> ChangeState:
        return self._state

    @workflow.signal(description="An approver's decision (deduplicated by approval_id).")
    async def decide(self, decision: ApprovalDecision) -> None:
        approvals = self._state.approvals
        if any(d.approval_id == decision.approval_id for d in approvals.received):
            return  # signals arrive at least once: a repeat is not recorded again
        if self._state.stage != ChangeStage.awaiting_approval:
            reason = f"the change is {self._state.stage.value}, not awaiting approval"
        else:
            reason = check_decision(approvals, decision, self._state.requested_by)
        if reason is not None:
            note = f"{decision.approval_id} by {decision.approver}: {reason}"
            if note not in approvals.ignored:
                approvals.ignored.append(note)
            return
        approvals.received.append(decision)
        await self._audit(
            f"approval.{decision.decision.value}",
            decision.approver,
            {
                "approval_id": decision.approval_id,
                "role": decision.role.value,
                "plant": decision.plant,
                "comment": decision.comment,
                "revision": self._state.revision,
            },
        )
        self._refresh_details()

    @workflow.signal(description="Resolve the task on hold: retry, skip or rollback.")
    def resolve(self, resolution: Resolution) -> None:
        hold = self._state.hold
        if hold is not None and hold.task_id == resolution.task_id and self._resolution is None:
            self._resolution = resolution

    @workflow.signal(description="Cancel the change (rolls back what was already applied).")
    def cancel(self, request: CancelRequest) -> None:
        if self._cancel is None:
            self._cancel = request

    # -- the lifecycle ------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: ChangeInput) -> ChangeOutcome:
        await self._audit(
            "change.submitted",
            inp.submitted_by,
            {
                "title": inp.request.title,
                "type": inp.request.type.value,
                "requested_by": inp.request.requested_by,
                "items": [i.model_dump(mode="json") for i in inp.request.items],
            },
        )
        final = await self._lifecycle()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return final

    async def _lifecycle(self) -> ChangeOutcome:
        while True:
            if self._cancel is not None:
                return await self._finish(ChangeStage.cancelled, self._cancel_note())
            await self._set_stage(ChangeStage.assessing, f"revision {self._state.revision}")
            if workflow.patched("thread-sync-before-assessment"):
                await self._sync_thread()
            try:
                assessed = await self._assess()
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == INVALID_CHANGE:
                    return await self._finish(
                        ChangeStage.rejected, f"assessment found the change invalid: {cause}"
                    )
                raise
            self._apply_assessment(assessed)
            await self._set_stage(ChangeStage.awaiting_approval, self._approvals_note())
            verdict = await self._await_approvals()
            if verdict is None:
                return await self._finish(ChangeStage.cancelled, self._cancel_note())
            if verdict == Decision.reject:
                by = next(
                    d for d in self._state.approvals.received if d.decision == Decision.reject
                )
                return await self._finish(
                    ChangeStage.rejected,
                    f"rejected by {by.approver} ({by.role.value})"
                    + (f": {by.comment}" if by.comment else ""),
                )
            if verdict == Decision.request_changes:
                self._state.revision += 1
                self._state.approvals.received = []
                continue
            break
        await self._set_stage(ChangeStage.scheduled, self._schedule_note())
        await self._wait_for_effectivity()
        if self._cancel is not None:
            return await self._finish(ChangeStage.cancelled, self._cancel_note())
        rolled_out = await self._roll_out()
        if not rolled_out:
            return await self._finish(ChangeStage.rolled_back, self._state.outcome)
        await self._set_stage(ChangeStage.verifying, "reading every system back")
        failures = await self._verify()
        if failures:
            self._state.outcome = "verification failed: " + "; ".join(failures)
            await self._roll_back()
            return await self._finish(ChangeStage.rolled_back, self._state.outcome)
        return await self._finish(ChangeStage.completed, "every system verified")

    async def _assess(self) -> AssessResult:
        return await workflow.execute_activity(
            "assess_impact",
            AssessInput(
                change_id=self._state.change_id,
                request=self._state.request,
                revision=self._state.revision,
            ),
            result_type=AssessResult,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=WRITE_RETRY,
            summary=f"Assess impact of {self._items_label()}",
        )

    async def _sync_thread(self) -> None:
        """Bring the digital thread up to date before assessing (a child ThreadSyncWorkflow).
        A failed sync leaves the last good thread in place; the change is assessed on it."""
        outcome = await workflow.execute_child_workflow(
            "ThreadSyncWorkflow",
            SyncRequest(mode="incremental"),
            id=f"{self._state.change_id}-sync-r{self._state.revision}",
            result_type=SyncOutcome,
            static_summary=f"Thread sync before assessing {self._state.change_id}",
        )
        if outcome.status == "committed":
            await self._audit(
                "thread.synced",
                "changeflow",
                {
                    "sync_id": outcome.sync_id,
                    "version": outcome.version,
                    "rows": sum(outcome.counts.values()),
                },
            )
        else:
            await self._audit(
                "thread.sync_failed",
                "changeflow",
                {"sync_id": outcome.sync_id, "error": outcome.error},
            )

    def _apply_assessment(self, assessed: AssessResult) -> None:
        self._state.impact = assessed.impact
        self._state.plants = assessed.impact.plants
        self._state.approvals.required = assessed.required_approvals
        self._state.approvals.received = []
        self._state.tasks = assessed.tasks
        workflow.upsert_search_attributes(
            [
                RISK_LEVEL.value_set(assessed.impact.risk_level.value),
                PLANTS.value_set(assessed.impact.plants),
            ]
        )

    async def _await_approvals(self) -> Decision | None:
        """Until every required approval arrives, one rejects, or the change is cancelled."""
        approvals = self._state.approvals
        await workflow.wait_condition(
            lambda: outcome(approvals) is not None or self._cancel is not None
        )
        if self._cancel is not None and outcome(approvals) != Decision.approve:
            return None
        return outcome(approvals)

    async def _wait_for_effectivity(self) -> None:
        effectivity = self._state.request.effectivity
        if effectivity.type.value == "date" and effectivity.date is not None:
            wait = effectivity.date - workflow.now()
            if wait.total_seconds() > 0:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._cancel is not None, timeout=wait)

    # -- rollout ------------------------------------------------------------------------------
    async def _roll_out(self) -> bool:
        """Run the task DAG wave by wave; a failed task puts the change on hold for a person."""
        await self._set_stage(ChangeStage.rolling_out, self._tasks_note())
        while True:
            if self._cancel is not None:
                self._state.outcome = self._cancel_note()
                await self._roll_back()
                return False
            ready = ready_tasks(self._state.tasks)
            if ready:
                await asyncio.gather(*(self._run_task(task) for task in ready))
                self._refresh_details()
                continue
            failed = [t for t in self._state.tasks if t.status == TaskStatus.failed]
            if not failed:
                return True
            task = failed[0]
            self._state.hold = Hold(task_id=task.id, error=task.error or "", since=workflow.now())
            await self._set_stage(ChangeStage.on_hold, f"{task.id} failed: {task.error}")
            await workflow.wait_condition(
                lambda: self._resolution is not None or self._cancel is not None
            )
            resolution, self._resolution = self._resolution, None
            self._state.hold = None
            if resolution is None:  # cancelled while on hold
                continue
            await self._audit(
                f"task.{resolution.action.value}",
                resolution.by,
                {"task_id": task.id, "comment": resolution.comment},
            )
            if resolution.action == ResolveAction.rollback:
                self._state.outcome = f"rolled back by {resolution.by} after {task.id} failed" + (
                    f": {resolution.comment}" if resolution.comment else ""
                )
                await self._roll_back()
                return False
            task.status = (
                TaskStatus.pending
                if resolution.action == ResolveAction.retry
                else TaskStatus.skipped
            )
            task.error = None
            await self._set_stage(ChangeStage.rolling_out, f"{task.id}: {resolution.action.value}")

    def _queue_for(self, task: RolloutTask) -> str:
        return queue_for(workflow.info().task_queue, task.system.value, task.plant)

    async def _run_task(self, task: RolloutTask) -> None:
        task.status = TaskStatus.running
        task.attempts += 1
        try:
            result = await workflow.execute_activity(
                "apply_task",
                TaskInput(change_id=self._state.change_id, task=task),
                result_type=TaskResult,
                task_queue=self._queue_for(task),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=WRITE_RETRY,
                summary=task.summary,
            )
        except ActivityError as err:
            task.status = TaskStatus.failed
            task.error = str(err.cause or err)
            await self._audit(
                "task.failed", "changeflow", {"task_id": task.id, "error": task.error}
            )
            return
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
            },
        )

    async def _roll_back(self) -> None:
        """Compensate done tasks in reverse dependency order."""
        problems = []
        for task in compensation_order(self._state.tasks):
            try:
                await workflow.execute_activity(
                    "compensate_task",
                    TaskInput(change_id=self._state.change_id, task=task),
                    result_type=TaskResult,
                    task_queue=self._queue_for(task),
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=COMPENSATE_RETRY,
                    summary=f"Undo: {task.summary}",
                )
            except ActivityError as err:
                problems.append(f"{task.id}: {err.cause or err}")
                await self._audit(
                    "task.compensation_failed",
                    "changeflow",
                    {"task_id": task.id, "error": str(err.cause or err)},
                )
                continue
            task.status = TaskStatus.compensated
            await self._audit("task.compensated", "changeflow", {"task_id": task.id})
        if problems:
            self._state.outcome += "; needs manual undo: " + "; ".join(problems)

    async def _verify(self) -> list[str]:
        done = [t for t in self._state.tasks if t.status == TaskStatus.done]
        results = await asyncio.gather(
            *(
                workflow.execute_activity(
                    "verify_task",
                    TaskInput(change_id=self._state.change_id, task=task),
                    result_type=VerifyResult,
                    task_queue=self._queue_for(task),
                    start_to_close_timeout=timedelta(minutes=1),
                    retry_policy=WRITE_RETRY,
                    summary=f"Verify: {task.summary}",
                )
                for task in done
            )
        )
        failures = []
        for task, result in zip(done, results, strict=True):
            task.verified = result.ok
            if not result.ok:
                failures.append(f"{task.id}: {result.detail}")
        await self._audit(
            "change.verified",
            "changeflow",
            {
                "checked": len(results),
                "failures": failures,
                "readback": {r.task_id: r.detail for r in results},
            },
        )
        return failures

    # -- stage bookkeeping --------------------------------------------------------------------
    async def _finish(self, stage: ChangeStage, note: str) -> ChangeOutcome:
        self._state.outcome = note
        await self._set_stage(stage, note)
        return ChangeOutcome(change_id=self._state.change_id, stage=stage, outcome=note)

    async def _set_stage(self, stage: ChangeStage, note: str = "") -> None:
        self._state.stage = stage
        self._state.history.append(StageEntry(stage=stage, at=workflow.now(), note=note))
        workflow.upsert_search_attributes([CHANGE_STAGE.value_set(stage.value)])
        self._refresh_details()
        await self._audit(f"stage.{stage.value}", "changeflow", {"note": note})

    async def _audit(self, action: str, actor: str, detail: dict) -> None:
        self._audit_seq += 1
        await workflow.execute_activity(
            "record_audit",
            AuditInput(
                change_id=self._state.change_id,
                event_key=f"{self._state.change_id}:{workflow.info().run_id}:{self._audit_seq}",
                actor=actor,
                action=action,
                detail=detail,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY,
            summary=f"Audit: {action}",
        )

    def _refresh_details(self) -> None:
        s = self._state
        lines = [f"**{s.change_id}** {s.title}", f"Stage: **{s.stage.value}**"]
        if s.impact:
            lines.append(
                f"Risk: {s.impact.risk_level.value} ({s.impact.risk_score:g}); "
                f"plants: {', '.join(s.plants) or '-'}"
            )
        if s.stage == ChangeStage.awaiting_approval:
            lines.append(self._approvals_note())
        if s.tasks:
            lines.append(self._tasks_note())
        if s.hold:
            lines.append(f"On hold: {s.hold.task_id}: {s.hold.error}")
        if s.outcome:
            lines.append(f"Outcome: {s.outcome}")
        workflow.set_current_details("\n\n".join(lines))

    def _items_label(self) -> str:
        return ", ".join(
            f"{i.part} {i.from_revision}->{i.to_revision}" for i in self._state.request.items
        )

    def _approvals_note(self) -> str:
        waiting = outstanding(self._state.approvals)
        if not waiting:
            return "all approvals received"
        return "waiting for: " + ", ".join(r.label() for r in waiting)

    def _tasks_note(self) -> str:
        tasks = self._state.tasks
        done = sum(1 for t in tasks if t.status in (TaskStatus.done, TaskStatus.skipped))
        return f"tasks: {done}/{len(tasks)} done"

    def _schedule_note(self) -> str:
        eff = self._state.request.effectivity
        return f"effectivity {eff.type.value}" + (f" {eff.date.isoformat()}" if eff.date else "")

    def _cancel_note(self) -> str:
        cancel = self._cancel
        if cancel is None:
            return ""
        return f"cancelled by {cancel.by}" + (f": {cancel.reason}" if cancel.reason else "")
