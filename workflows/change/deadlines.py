"""Deadlines of ChangeWorkflow's approvals, on durable timers: reminders at half an approval's
SLA, escalations at the SLA, the change's expiry if it stays awaiting approval past the
policy's limit, and, after an emergency change started, its retrospective approvals tracked
until given (an overdue one is escalated). Each notice goes to the outbox once and into the
change's state and audit trail."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.approvals.deadlines import Notice, due, next_at, planned
    from domain.approvals.decisions import Decision, RequiredApproval, outstanding
    from domain.change.stages import ChangeStage
    from domain.messages import NotifyInput
    from workflows.change.base import ChangeBase

DEADLINES_PATCH = "approval-deadlines"  # patch: earlier runs waited for approvals untimed


class ChangeDeadlines(ChangeBase):
    _expire_after_days: float | None
    _awaiting_since: datetime

    def _sent(self) -> set[str]:
        return {n.key for n in self._state.notifications}

    async def _wait_with_deadlines(self, done: Callable[[], bool]) -> bool:
        """Until `done()`, sending each notice as it falls due. False: the change expired."""
        since = self._awaiting_since
        s = self._state

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

    async def _track_retrospective(self) -> None:
        """An emergency change: wait for its retrospective approvals (an answer other than
        approve is a deviation), escalating each one that falls overdue."""
        s = self._state
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
            await self._set_stage(ChangeStage.completed_with_deviations, s.deviations[-1])
        await self._audit(
            "approvals.retrospective_closed",
            "changeflow",
            {"received": [d.approval_id for d in s.approvals.received]},
        )

    async def _sleep_until(self, at, done: Callable[[], bool]) -> None:
        timeout = None if at is None else max(at - workflow.now(), timedelta(0))
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(done, timeout=timeout)

    async def _notify(self, notice: Notice) -> None:
        await workflow.execute_activity(
            "notify",
            NotifyInput(change_id=self._state.change_id, notice=notice),
            start_to_close_timeout=timedelta(seconds=30),
            summary=f"{notice.kind}: {notice.approval or self._state.change_id} -> {notice.to}",
        )
        self._state.notifications.append(notice)
        self._refresh_details()
        await self._audit(
            f"approval.{notice.kind}",
            "changeflow",
            {"to": notice.to, "approval": notice.approval, "message": notice.message},
        )
