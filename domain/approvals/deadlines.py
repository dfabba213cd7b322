"""Deadlines on approvals: a reminder at half a required approval's SLA, an escalation to its
escalation contact at the SLA, the expiry of a change left awaiting approval too long, and an
emergency change's retrospective approvals falling overdue. Each is a notice, sent once (by
its key). Pure: the workflow asks what is due and when the next one falls."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from domain.approvals.decisions import ApprovalsState, RequiredApproval, is_complete


class Notice(BaseModel):
    key: str
    kind: str  # reminder | escalation | expiry | overdue
    to: str
    approval: str
    at: datetime
    message: str


def _who(required: RequiredApproval) -> str:
    if required.members:
        return ", ".join(required.members)
    return required.role.value + (f" ({required.plant})" if required.plant else "")


def planned(
    approvals: ApprovalsState,
    since: datetime,
    expires_at: datetime | None,
    change_id: str,
    requester: str,
    *,
    retrospective: bool = False,
) -> list[Notice]:
    """Every notice still to come for the approvals not yet given, in time order."""
    notices: list[Notice] = []
    for required in approvals.required:
        if required.retrospective != retrospective or is_complete(approvals, required):
            continue
        slot = f"{required.role.value}:{required.plant or '-'}"
        label = required.label()
        if retrospective and required.due_hours:
            due = since + timedelta(hours=required.due_hours)
            notices.append(
                Notice(
                    key=f"overdue:{slot}",
                    kind="overdue",
                    to=required.escalation or _who(required),
                    approval=label,
                    at=due,
                    message=f"{change_id}: the retrospective {label} approval of this emergency "
                    f"change was due {due:%Y-%m-%d %H:%M} UTC",
                )
            )
            continue
        if not required.sla_hours:
            continue
        sla = timedelta(hours=required.sla_hours)
        notices.append(
            Notice(
                key=f"reminder:{slot}",
                kind="reminder",
                to=_who(required),
                approval=label,
                at=since + sla / 2,
                message=f"{change_id} waits for your {label} approval (due "
                f"{since + sla:%Y-%m-%d %H:%M} UTC)",
            )
        )
        notices.append(
            Notice(
                key=f"escalation:{slot}",
                kind="escalation",
                to=required.escalation or "admin",
                approval=label,
                at=since + sla,
                message=f"{change_id}: the {label} approval is past its {required.sla_hours:g} h "
                f"SLA ({_who(required)} did not decide)",
            )
        )
    if expires_at is not None and not retrospective:
        notices.append(
            Notice(
                key="expiry",
                kind="expiry",
                to=requester,
                approval="",
                at=expires_at,
                message=f"{change_id} expired: still awaiting approval at "
                f"{expires_at:%Y-%m-%d %H:%M} UTC",
            )
        )
    return sorted(notices, key=lambda n: n.at)


def due(notices: list[Notice], now: datetime, sent: set[str]) -> list[Notice]:
    return [n for n in notices if n.at <= now and n.key not in sent]


def next_at(notices: list[Notice], sent: set[str]) -> datetime | None:
    pending = [n.at for n in notices if n.key not in sent]
    return min(pending) if pending else None
