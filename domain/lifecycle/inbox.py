"""What waits for one approver: the open approval slots of a change they may decide, each with
its deadline, so that an inbox can show the oldest deadline first. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from domain.approvals.decisions import PLANT_ROLES, RequiredApproval, Role, is_decided
from domain.change.stages import ChangeStage
from domain.lifecycle.human_input import NO_LONGER_DECIDED
from domain.lifecycle.state import ChangeState


class InboxItem(BaseModel):
    change_id: str
    title: str
    stage: ChangeStage
    approval: RequiredApproval
    due_at: datetime | None
    risk: str | None = None


def _since(state: ChangeState) -> datetime | None:
    entries = [h.at for h in state.history if h.stage == ChangeStage.awaiting_approval]
    return entries[-1] if entries else None


def due_at(state: ChangeState, required: RequiredApproval) -> datetime | None:
    """The SLA's end (retrospective: the deadline after the change started), else expiry."""
    if required.retrospective and required.due_hours and state.approved_at:
        return state.approved_at + timedelta(hours=required.due_hours)
    since = _since(state)
    if required.sla_hours and since:
        return since + timedelta(hours=required.sla_hours)
    return state.expires_at


def may_decide(
    state: ChangeState, required: RequiredApproval, name: str, role: Role, plant: str | None
) -> bool:
    if name in (state.requested_by, state.submitted_by) or not required.may_decide(role):
        return False
    if required.plant and role in PLANT_ROLES and plant != required.plant:
        return False
    if required.group and name not in required.members:
        return False
    if any(d.slot() == required.slot() and d.approver == name for d in state.approvals.received):
        return False
    if is_decided(state.approvals, required):
        return False
    if state.stage == ChangeStage.awaiting_approval:
        return True
    return required.retrospective and state.stage not in NO_LONGER_DECIDED


def waiting_for(
    states: list[ChangeState], name: str, role: Role, plant: str | None
) -> list[InboxItem]:
    """Every slot this person may decide now, oldest deadline first (none last)."""
    items = [
        InboxItem(
            change_id=s.change_id,
            title=s.title,
            stage=s.stage,
            approval=r,
            due_at=due_at(s, r),
            risk=s.impact.risk_level.value if s.impact else None,
        )
        for s in states
        for r in s.approvals.required
        if may_decide(s, r, name, role, plant)
    ]
    far = datetime.max.replace(tzinfo=None)
    return sorted(
        items, key=lambda i: (i.due_at.replace(tzinfo=None) if i.due_at else far, i.change_id)
    )
