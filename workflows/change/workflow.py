"""ChangeWorkflow: one change from assessment through approvals, rollout and verification to close.

Workflow id = change id. It only decides and waits: every side effect is an activity. People
reach it only through the changeflow API, which signs what they decide (workflows/change/input.py);
the rollout, its rollback and verification are in workflows/change/rollout.py. A cancellation
requested in Temporal is handled like a cancel through the API: what was applied is rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from domain.approvals.decisions import Decision, outcome
    from domain.change.stages import ChangeStage, is_final
    from domain.lifecycle.details import approvals_note, schedule_note
    from domain.lifecycle.state import ChangeState, StageEntry
    from domain.messages import (
        ChangeInput,
        ChangeOutcome,
    )
    from domain.rollout.tasks import TaskStatus, deviations
    from workflows.change.assessment import ChangeAssessment
    from workflows.change.deadlines import DEADLINES_PATCH, ChangeDeadlines
    from workflows.change.input import ChangeInputHandlers
    from workflows.change.rollout import ChangeRollout
    from workflows.versions import Versions


REVISE_PATCH = "revise-after-request-changes"  # patch: earlier runs reassessed at once
AUDIT_ASSESSMENT_PATCH = "audit-assessment"  # patch: earlier runs did not audit the assessment


@workflow.defn(failure_exception_types=[ValidationError])  # bad input fails, never wedges
class ChangeWorkflow(ChangeInputHandlers, ChangeRollout, ChangeDeadlines, ChangeAssessment):
    @workflow.init
    def __init__(self, inp: ChangeInput) -> None:
        self._versions = Versions()  # first: which patches this run takes
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
        self._chain_key = inp.chain_key or workflow.info().first_execution_run_id
        self._chain_refused = False
        self._audit_seq = 0
        self._holds = 0
        self._used_inputs = set()
        self._resolution = None
        self._cancel = None
        self._inflight = {}
        self._batches_inflight = []
        self._batch_done = {}
        self._children = {}
        self._expire_after_days = None
        self._expired = False
        self._audit_writer = None
        self._revision = None
        self._awaiting_since = workflow.now()

    # -- the lifecycle ------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: ChangeInput) -> ChangeOutcome:
        self._signed_input()  # decided once, first: a new run takes signed input only
        self._batch_audit()
        try:
            final = await self._lifecycle(inp)
            if final.stage in (ChangeStage.completed, ChangeStage.completed_with_deviations):
                await self._track_retrospective()  # an emergency change's later approvals
                final = self._outcome()
        except asyncio.CancelledError:
            if is_final(self._state.stage):  # cancelled after it ended: the end stands
                final = self._outcome()
            else:
                await self._after_temporal_cancel()
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._audit_flushed()
                raise
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._audit_flushed()  # every event in the store before the change closes
        return final

    async def _lifecycle(self, inp: ChangeInput) -> ChangeOutcome:
        await self._audit(
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
        await self._audit_flushed()  # the first write says whose chain this is
        if self._chain_refused:
            return await self._finish(
                ChangeStage.rejected,
                f"change id {self._state.change_id} belongs to another change; ids are never "
                "reused (nothing was written)",
            )
        while True:
            if self._cancel is not None:
                return await self._finish(ChangeStage.cancelled, self._cancel_note())
            await self._set_stage(ChangeStage.assessing, f"revision {self._state.revision}")
            if self._versions.patched("thread-sync-before-assessment"):
                await self._sync_thread()
            try:
                assessed = await self._assess()
            except ApplicationError as err:
                return await self._finish(
                    ChangeStage.rejected, f"assessment found the change invalid: {err}"
                )
            if assessed is None:
                return await self._finish(ChangeStage.cancelled, self._cancel_note())
            self._apply_assessment(assessed)
            if self._versions.patched(AUDIT_ASSESSMENT_PATCH):
                await self._audit_assessment(assessed)
            await self._set_stage(ChangeStage.awaiting_approval, approvals_note(self._state))
            verdict = await self._await_approvals()
            if self._expired:
                days = self._expire_after_days
                return await self._finish(
                    ChangeStage.expired, f"no decision within {days:g} days of awaiting approval"
                )
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
                if self._versions.patched(REVISE_PATCH) and not await self._await_revision():
                    return await self._finish(ChangeStage.cancelled, self._cancel_note())
                self._state.revision += 1
                self._state.approvals.received = []
                continue
            break
        await self._set_stage(ChangeStage.scheduled, schedule_note(self._state))
        await self._wait_for_effectivity()
        if self._cancel is not None:
            return await self._finish(ChangeStage.cancelled, self._cancel_note())
        rolled_out = await self._roll_out()
        if not rolled_out:
            return await self._finish(ChangeStage.rolled_back, self._state.outcome)
        await self._set_stage(ChangeStage.verifying, "reading every system back")
        failures = await self._verify()
        if failures or self._cancel is not None:
            self._state.outcome = (
                "verification failed: " + "; ".join(failures) if failures else self._cancel_note()
            )
            await self._roll_back()
            return await self._finish(ChangeStage.rolled_back, self._state.outcome)
        found = deviations(self._state.tasks) or self._state.deviations
        if found:
            self._state.deviations = found
            skipped = [t.id for t in self._state.tasks if t.status == TaskStatus.skipped]
            return await self._finish(
                ChangeStage.completed_with_deviations,
                f"applied tasks verified; {len(skipped)} skipped and not verified: "
                + ", ".join(skipped),
            )
        return await self._finish(ChangeStage.completed, "every system verified")

    async def _await_approvals(self) -> Decision | None:
        """Until every required approval arrives, one rejects, or the change is cancelled (None)
        or expires (self._expired), reminding and escalating on the way."""
        approvals = self._state.approvals

        def done() -> bool:
            return outcome(approvals) is not None or self._cancel is not None

        if self._versions.patched(DEADLINES_PATCH):
            if not await self._wait_with_deadlines(done):
                self._expired = True
                return None
        else:
            await workflow.wait_condition(done)
        if self._cancel is not None and outcome(approvals) != Decision.approve:
            return None
        self._state.approved_at = workflow.now()
        return outcome(approvals)

    async def _await_revision(self) -> bool:
        """Changes were requested: wait for the requester's revised change file (False: the
        change was cancelled meanwhile). The approvals start over on the new revision."""
        by = next(
            d for d in self._state.approvals.received if d.decision == Decision.request_changes
        )
        await self._set_stage(
            ChangeStage.changes_requested, f"{by.approver} ({by.role.value}): {by.comment}"
        )
        await workflow.wait_condition(
            lambda: self._revision is not None or self._cancel is not None
        )
        if self._revision is None:
            return False
        self._state.request = self._revision.request
        self._state.title = self._revision.request.title
        self._revision = None
        return True

    async def _wait_for_effectivity(self) -> None:
        effectivity = self._state.request.effectivity
        if effectivity.type.value == "date" and effectivity.date is not None:
            date = effectivity.date
            wait = (date if date.tzinfo else date.replace(tzinfo=UTC)) - workflow.now()
            if wait.total_seconds() > 0:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._cancel is not None, timeout=wait)
