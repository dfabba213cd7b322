"""A change's approvals waited for on durable timers: reminders at half an approval's SLA,
escalations at the SLA, the change's expiry if it stays awaiting approval past the policy's
limit, and, after an emergency change started, its retrospective approvals tracked until given
(an overdue one is escalated). Each notice goes to the outbox once and into the change's state
and audit trail."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.approvals.deadlines import Notice, due, next_at, planned
    from domain.approvals.decisions import Decision, RequiredApproval, outcome, outstanding
    from domain.change.stages import ChangeStage
    from domain.messages import NotifyInput
    from workflows.change.context import ChangeContext


class ApprovalDeadlines:
    """The approvals' clocks start when an assessment is kept (`start`)."""

    def __init__(self, ctx: ChangeContext) -> None:
        self._ctx = ctx
        self.expire_after_days: float | None = None
        self.expired = False  # still awaiting approval at the policy's limit
        self._since = workflow.now()

    def start(self, expire_after_days: float | None) -> None:
        """The approvals' clocks start now (a new assessment: a new revision's approvals)."""
        self.expire_after_days = days = expire_after_days
        self._since = workflow.now()
        self._ctx.state.expires_at = self._since + timedelta(days=days) if days else None

    async def verdict(self) -> Decision | None:
        """Until every required approval arrives, one rejects, or the change is cancelled (None)
        or expires (None, and `expired`), reminding and escalating on the way."""
        ctx = self._ctx
        approvals = ctx.state.approvals

        def done() -> bool:
            return outcome(approvals) is not None or ctx.cancel is not None

        if not await self._wait(done):
            self.expired = True
            return None
        if ctx.cancel is not None and outcome(approvals) != Decision.approve:
            return None
        ctx.state.approved_at = workflow.now()
        return outcome(approvals)

    def _sent(self) -> set[str]:
        return {n.key for n in self._ctx.state.notifications}

    async def _wait(self, done: Callable[[], bool]) -> bool:
        """Until `done()`, sending each notice as it falls due. False: the change expired."""
        since = self._since
        s = self._ctx.state

        def notices() -> list[Notice]:  # what is still to come, for what is still awaited
            return planned(s.approvals, since, s.expires_at, s.change_id, s.requested_by)

        while not done():
            await self._sleep_until(next_at(notices(), self._sent()), done)
            if done():
                return True
            for notice in due(notices(), workflow.now(), self._sent()):
                await self._notify(notice)
                if notice.kind == "expiry":
                    return False
        return True

    async def track_retrospective(self) -> None:
        """An emergency change: wait for its retrospective approvals (an answer other than
        approve is a deviation), escalating each one that falls overdue."""
        s = self._ctx.state
        if not any(r.retrospective for r in s.approvals.required):
            return
        since = s.approved_at or workflow.now()

        def waiting() -> list[RequiredApproval]:
            answered = {d.slot() for d in s.approvals.received if d.decision != Decision.approve}
            return [
                r for r in outstanding(s.approvals, retrospective=True) if r.slot() not in answered
            ]

        def overdue() -> list[Notice]:
            labels = {r.label() for r in waiting()}
            return [
                n
                for n in planned(
                    s.approvals, since, None, s.change_id, s.requested_by, retrospective=True
                )
                if n.approval in labels
            ]

        while waiting():
            await self._sleep_until(next_at(overdue(), self._sent()), lambda: not waiting())
            for notice in due(overdue(), workflow.now(), self._sent()):
                await self._notify(notice)
        refused = [
            d
            for d in s.approvals.received
            if d.decision != Decision.approve
            and any(r.retrospective and r.slot() == d.slot() for r in s.approvals.required)
        ]
        for d in refused:
            s.deviations.append(
                f"retrospective {d.role.value} approval refused by {d.approver} "
                f"({d.decision.value}: {d.comment}); the change stands until a new change "
                "reverts it"
            )
        if refused:
            self._ctx.set_stage(ChangeStage.completed_with_deviations, s.deviations[-1])
        self._ctx.audit(
            "approvals.retrospective_closed",
            "changeflow",
            {"received": [d.approval_id for d in s.approvals.received]},
        )

    async def _sleep_until(self, at: datetime | None, done: Callable[[], bool]) -> None:
        timeout = None if at is None else max(at - workflow.now(), timedelta(0))
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(done, timeout=timeout)

    async def _notify(self, notice: Notice) -> None:
        await workflow.execute_activity(
            "notify",
            NotifyInput(change_id=self._ctx.state.change_id, notice=notice),
            start_to_close_timeout=timedelta(seconds=30),
            summary=f"{notice.kind}: {notice.approval or self._ctx.state.change_id} -> {notice.to}",
        )
        self._ctx.state.notifications.append(notice)
        self._ctx.refresh_details()
        self._ctx.audit(
            f"approval.{notice.kind}",
            "changeflow",
            {"to": notice.to, "approval": notice.approval, "message": notice.message},
        )
