"""ChangeWorkflow: one change from assessment through approvals, rollout and verification to close.

Workflow id = change id. It only decides and waits: every side effect is an activity. People
reach it only through the changeflow API, which signs what they decide (workflows/change/input.py);
the rollout, its rollback and verification are a strategy chosen once the plan is final
(workflows/change/strategy.py). A cancellation requested in Temporal is handled like a cancel
through the API: what was applied is rolled back.

Long-lived (up to the policy's approval limit, 30 days by default): it moves to each new worker
deployment version, so a change of its code goes behind a patch (docs/upgrading.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC

from temporalio import workflow
from temporalio.common import RawValue, VersioningBehavior
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from domain.approvals.decisions import ApprovalDecision, Decision
    from domain.change.stages import ChangeStage, is_final
    from domain.lifecycle.details import approvals_note, schedule_note
    from domain.lifecycle.state import ChangeState
    from domain.messages import (
        CancelRequest,
        ChangeInput,
        ChangeOutcome,
        InputReceipt,
        Resolution,
        Revision,
    )
    from domain.rollout.tasks import TaskStatus, deviations
    from workflows.change.assessment import Assessment
    from workflows.change.context import ChangeContext
    from workflows.change.deadlines import ApprovalDeadlines
    from workflows.change.hold import PersonHold
    from workflows.change.input import HumanInput
    from workflows.change.strategy import RolloutStrategy, rollout_for

COMPLETED = (ChangeStage.completed, ChangeStage.completed_with_deviations)


@workflow.defn(
    failure_exception_types=[ValidationError],  # bad input fails, never wedges
    versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
)
class ChangeWorkflow:
    @workflow.init
    def __init__(self, inp: ChangeInput) -> None:
        self._ctx = ctx = ChangeContext(inp)
        self._input = HumanInput(ctx)
        self._assessment = Assessment(ctx)
        self._deadlines = ApprovalDeadlines(ctx)
        self._hold = PersonHold(ctx)
        self._rollout: RolloutStrategy | None = None  # chosen once the plan is final

    # -- what people and readers reach ------------------------------------------------------
    @workflow.query(description="The full state of the change.")
    def state(self) -> ChangeState:
        return self._ctx.state

    @workflow.update(description="An approver's decision, signed by the changeflow API.")
    def submit_decision(self, decision: ApprovalDecision) -> InputReceipt:
        return self._input.decision(decision)

    @submit_decision.validator
    def _validate_decision(self, decision: ApprovalDecision) -> None:
        self._input.validate_decision(decision)

    @workflow.update(description="Retry, skip or roll back the task on hold (signed by the API).")
    def resolve_hold(self, resolution: Resolution) -> InputReceipt:
        return self._input.resolution(resolution)

    @resolve_hold.validator
    def _validate_resolution(self, resolution: Resolution) -> None:
        self._input.validate_resolution(resolution)

    @workflow.update(description="Cancel the change; what was applied is rolled back.")
    def request_cancel(self, request: CancelRequest) -> InputReceipt:
        return self._input.cancel(request)

    @request_cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._input.validate_cancel(request)

    @workflow.update(description="The requester's revised change file (signed by the API).")
    def revise(self, revision: Revision) -> InputReceipt:
        return self._input.revision(revision)

    @revise.validator
    def _validate_revision(self, revision: Revision) -> None:
        self._input.validate_revision(revision)

    @workflow.signal(
        dynamic=True,
        description="Refused and audited: the change takes people's input only through the "
        "changeflow API (signed Updates), never a signal.",
    )
    def refuse_signal(self, name: str, args: Sequence[RawValue]) -> None:
        self._input.refuse_signal(name, args)

    # -- the lifecycle ------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: ChangeInput) -> ChangeOutcome:
        ctx = self._ctx
        try:
            final = await self._lifecycle(inp)
            if final.stage in COMPLETED:
                await self._deadlines.track_retrospective()  # an emergency's later approvals
                final = ctx.outcome()
        except asyncio.CancelledError:
            if is_final(ctx.state.stage):  # cancelled after it ended: the end stands
                final = ctx.outcome()
            else:
                await self._after_temporal_cancel()
                await workflow.wait_condition(workflow.all_handlers_finished)
                await ctx.audit_flushed()
                raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        await ctx.audit_flushed()  # every event in the store before the change closes
        return final

    async def _lifecycle(self, inp: ChangeInput) -> ChangeOutcome:
        ctx, state = self._ctx, self._ctx.state
        ctx.audit(
            "change.submitted",
            inp.submitted_by,
            {
                "title": inp.request.title,
                "type": inp.request.type.value,
                "requested_by": inp.request.requested_by,
                "items": [i.model_dump(mode="json") for i in inp.request.items],
                "request": inp.request.model_dump(mode="json"),
            },
        )
        await ctx.audit_flushed()  # the first write says whose chain this is
        if ctx.chain_refused:
            return await ctx.finish(
                ChangeStage.rejected,
                f"change id {state.change_id} belongs to another change; ids are never "
                "reused (nothing was written)",
            )
        ended = await self._until_approved()
        if ended is not None:
            return ended
        self._rollout = rollout = rollout_for(ctx, self._hold)
        ctx.set_stage(ChangeStage.scheduled, schedule_note(state))
        await self._wait_for_effectivity()
        if ctx.cancel is not None:
            return await ctx.finish(ChangeStage.cancelled, ctx.cancel_note())
        if not await rollout.roll_out():
            return await ctx.finish(ChangeStage.rolled_back, state.outcome)
        ctx.set_stage(ChangeStage.verifying, "reading every system back")
        failures = await rollout.verify()
        if failures or ctx.cancel is not None:
            state.outcome = (
                "verification failed: " + "; ".join(failures) if failures else ctx.cancel_note()
            )
            await rollout.roll_back()
            return await ctx.finish(ChangeStage.rolled_back, state.outcome)
        found = deviations(state.tasks) or state.deviations
        if found:
            state.deviations = found
            skipped = [t.id for t in state.tasks if t.status == TaskStatus.skipped]
            return await ctx.finish(
                ChangeStage.completed_with_deviations,
                f"applied tasks verified; {len(skipped)} skipped and not verified: "
                + ", ".join(skipped),
            )
        return await ctx.finish(ChangeStage.completed, "every system verified")

    async def _until_approved(self) -> ChangeOutcome | None:
        """Assess, then wait for the approvals; again for each revised change file. None: the
        change is approved; else how it ended (rejected, cancelled, expired, found invalid)."""
        ctx, state = self._ctx, self._ctx.state
        while True:
            if ctx.cancel is not None:
                return await ctx.finish(ChangeStage.cancelled, ctx.cancel_note())
            ctx.set_stage(ChangeStage.assessing, f"revision {state.revision}")
            await self._assessment.sync_thread()
            try:
                assessed = await self._assessment.assess()
            except ApplicationError as err:
                return await ctx.finish(
                    ChangeStage.rejected, f"assessment found the change invalid: {err}"
                )
            if assessed is None:
                return await ctx.finish(ChangeStage.cancelled, ctx.cancel_note())
            self._assessment.apply(assessed)
            self._deadlines.start(assessed.expire_after_days)
            self._assessment.audit(assessed)
            ctx.set_stage(ChangeStage.awaiting_approval, approvals_note(state))
            verdict = await self._deadlines.verdict()
            if self._deadlines.expired:
                days = self._deadlines.expire_after_days or 0
                return await ctx.finish(
                    ChangeStage.expired, f"no decision within {days:g} days of awaiting approval"
                )
            if verdict is None:
                return await ctx.finish(ChangeStage.cancelled, ctx.cancel_note())
            if verdict == Decision.approve:
                return None
            if verdict == Decision.reject:
                by = next(d for d in state.approvals.received if d.decision == Decision.reject)
                return await ctx.finish(
                    ChangeStage.rejected,
                    f"rejected by {by.approver} ({by.role.value})"
                    + (f": {by.comment}" if by.comment else ""),
                )
            if not await self._await_revision():  # changes requested
                return await ctx.finish(ChangeStage.cancelled, ctx.cancel_note())
            state.revision += 1
            state.approvals.received = []

    async def _await_revision(self) -> bool:
        """Changes were requested: wait for the requester's revised change file (False: the
        change was cancelled meanwhile). The approvals start over on the new revision."""
        ctx, state = self._ctx, self._ctx.state
        by = next(d for d in state.approvals.received if d.decision == Decision.request_changes)
        ctx.set_stage(
            ChangeStage.changes_requested, f"{by.approver} ({by.role.value}): {by.comment}"
        )
        await workflow.wait_condition(lambda: ctx.revision is not None or ctx.cancel is not None)
        if ctx.revision is None:
            return False
        state.request = ctx.revision.request
        state.title = ctx.revision.request.title
        ctx.revision = None
        return True

    async def _wait_for_effectivity(self) -> None:
        effectivity = self._ctx.state.request.effectivity
        if effectivity.type.value == "date" and effectivity.date is not None:
            date = effectivity.date
            wait = (date if date.tzinfo else date.replace(tzinfo=UTC)) - workflow.now()
            if wait.total_seconds() > 0:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: self._ctx.cancel is not None, timeout=wait
                    )

    async def _after_temporal_cancel(self) -> None:
        """Temporal cancelled the workflow (Web UI, CLI): settle the writes in flight, undo
        what was applied, end cancelled or rolled back, and leave it in the audit trail."""
        ctx = self._ctx
        if ctx.cancel is None:
            ctx.cancel = CancelRequest(
                by="temporal", reason="cancellation requested in Temporal (Web UI or CLI)"
            )
            ctx.audit("change.cancel_requested", "temporal", {"reason": ctx.cancel.reason})
        rollout = self._rollout
        if rollout is not None:
            await rollout.settle()
            if rollout.applied():
                ctx.state.outcome = ctx.cancel_note()
                await rollout.roll_back()
                await ctx.finish(ChangeStage.rolled_back, ctx.state.outcome)
                return
            if rollout.undone():
                await ctx.finish(ChangeStage.rolled_back, ctx.state.outcome or ctx.cancel_note())
                return
        await ctx.finish(ChangeStage.cancelled, ctx.cancel_note())
