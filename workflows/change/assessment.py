"""A change's assessment: the digital thread brought up to date (found fresh, another change's
sync waited for, or a child ThreadSyncWorkflow), the impact assessed (an activity; a store or PLM
outage is waited out), what it found kept in the state, and what approvers will sign audited by
hash."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from domain.lifecycle.details import items_label
    from domain.messages import AssessInput, AssessResult, SyncOutcome, SyncPlan, SyncRequest
    from workflows.change.context import ChangeContext
    from workflows.search_attributes import PLANTS, RISK_LEVEL
    from workflows.task_activities import INVALID_CHANGE, WRITE_RETRY
    from workflows.thread_sync import await_sync, fresh_outcome


class Assessment:
    """The steps before approval, each on the change's context."""

    def __init__(self, ctx: ChangeContext) -> None:
        self._ctx = ctx

    async def assess(self) -> AssessResult | None:
        """The impact assessment; None when the change was cancelled while it could not run.
        A change found invalid raises ApplicationError; other failures are waited out."""
        state = self._ctx.state
        while True:
            try:
                assessed = await workflow.execute_activity(
                    "assess_impact",
                    AssessInput(
                        change_id=state.change_id, request=state.request, revision=state.revision
                    ),
                    result_type=AssessResult,
                    start_to_close_timeout=timedelta(minutes=5),
                    retry_policy=WRITE_RETRY,
                    summary=f"Assess impact of {items_label(state)}",
                )
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.type == INVALID_CHANGE:
                    raise ApplicationError(str(cause), type=INVALID_CHANGE) from None
                await self._ctx.wait_out(f"assessment cannot run now ({cause or err}); retrying")
                if self._ctx.cancel is not None:
                    self._ctx.clear_alert()
                    return None
                continue
            self._ctx.clear_alert()
            return assessed

    async def sync_thread(self) -> None:
        """Bring the digital thread up to date before assessing: nothing to do when it is fresh,
        another change's sync under way to wait for, else a child ThreadSyncWorkflow. A failed
        sync leaves the last good thread in place; the change is assessed on it."""
        result, note = await self._sync_needs_no_run()
        if result is None:
            result = await self._sync_run()
        if note:
            result = result.model_copy(update={"warnings": [note, *result.warnings]})
        if result.status == "fresh":  # synced moments ago: assessed on that thread
            self._ctx.audit("thread.fresh", "changeflow", {"note": "; ".join(result.warnings)})
        elif result.status == "committed":
            synced = {
                "sync_id": result.sync_id,
                "version": result.version,
                "rows": sum(result.counts.values()),
            }
            if result.joined:  # another change's sync, begun after the last write
                synced["joined"] = True
            if note:  # the sync waited for did not commit
                synced["note"] = note
            self._ctx.audit("thread.synced", "changeflow", synced)
        else:
            self._ctx.audit(
                "thread.sync_failed",
                "changeflow",
                {"sync_id": result.sync_id, "error": result.error},
            )

    async def _sync_needs_no_run(self) -> tuple[SyncOutcome | None, str | None]:
        """A look before a sync run of its own (a local activity, nothing begun): the thread is
        fresh, or a run under way is waited for. None: a run is needed (its begin decides
        again, under the lock), with a note when the run waited for did not commit."""
        try:
            plan = await workflow.execute_local_activity(
                "thread_sync_look",
                SyncRequest(mode="incremental", before_assessment=True),
                result_type=SyncPlan | None,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
                summary="Is the thread fresh, or a sync under way?",
            )
        except (ActivityError, ApplicationError):
            return None, None  # the store cannot answer: the sync run waits it out
        if plan is None:
            return None, None
        if plan.fresh_age_s is not None:
            return fresh_outcome(plan, "incremental"), None
        try:
            waited = await await_sync(plan.sync_id)
        except ActivityError as err:  # could not wait it out: a sync of its own, as before
            return (
                None,
                f"synced on its own: could not wait for sync {plan.sync_id}: {err.cause or err}",
            )
        if waited.status == "committed":
            return waited, None
        return None, f"synced on its own: sync {waited.sync_id}, waited for, {waited.error}"

    async def _sync_run(self) -> SyncOutcome:
        change_id, revision = self._ctx.state.change_id, self._ctx.state.revision
        try:
            return await workflow.execute_child_workflow(
                "ThreadSyncWorkflow",
                SyncRequest(mode="incremental", before_assessment=True),
                id=f"{change_id}-sync-r{revision}",
                result_type=SyncOutcome,
                static_summary=f"Thread sync before assessing {change_id}",
            )
        except ChildWorkflowError as err:
            return SyncOutcome(sync_id="-", status="failed", error=str(err.cause or err))

    def audit(self, assessed: AssessResult) -> None:
        """What the approvers will sign: the impact report and plan, by id and hash."""
        self._ctx.audit(
            "change.assessed",
            "changeflow",
            {
                "revision": self._ctx.state.revision,
                "impact_report": assessed.impact.report_id,
                "impact_hash": assessed.impact_hash,
                "plan": assessed.plan_id,
                "plan_hash": assessed.plan_hash,
                "risk": assessed.impact.risk_level.value,
                "plants": assessed.impact.plants,
                "required": [
                    {"approval": r.label(), "rule": r.rule, "reason": r.reason}
                    for r in assessed.required_approvals
                ],
                "revision_hash": self._ctx.state.revision_hash,
            },
        )

    def apply(self, assessed: AssessResult) -> None:
        """Keep what the assessment found in the state (the approvals start over)."""
        s = self._ctx.state
        s.impact = assessed.impact
        s.plants = assessed.impact.plants
        s.approvals.required = assessed.required_approvals
        s.approvals.received = []
        s.tasks = assessed.tasks
        s.plan_hash = assessed.plan_hash
        s.impact_hash = assessed.impact_hash
        s.pilot_plant = assessed.pilot_plant
        s.plan_id = assessed.plan_id
        s.wave_sizes = assessed.wave_sizes
        workflow.upsert_search_attributes(
            [
                RISK_LEVEL.value_set(assessed.impact.risk_level.value),
                PLANTS.value_set(assessed.impact.plants),
            ]
        )
