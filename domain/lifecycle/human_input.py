"""The rules for human input a change accepts: decisions, resolutions of a task on hold, cancels.

Each check returns None when the input counts, or a `Refusal` saying why not and what kind of
refusal it is (the API answers 403 for `forbidden`, 409 for `conflict`, 422 for `invalid`).
The workflow's Update validators and handlers call these; so does nothing else, so the rules
cannot drift between the API and the workflow. Pure.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from domain.approvals.decisions import (
    ApprovalDecision,
    Decision,
    RequiredApproval,
    Role,
    is_decided,
)
from domain.change.stages import ChangeStage, is_final
from domain.lifecycle.state import ChangeState
from domain.messages import CancelRequest, Resolution, ResolveAction, Revision


class RefusalKind(StrEnum):
    forbidden = "Forbidden"
    conflict = "Conflict"
    invalid = "InvalidInput"
    unsigned = "Unsigned"


class Refusal(BaseModel):
    kind: RefusalKind
    message: str


def _forbidden(message: str) -> Refusal:
    return Refusal(kind=RefusalKind.forbidden, message=message)


def _conflict(message: str) -> Refusal:
    return Refusal(kind=RefusalKind.conflict, message=message)


NO_LONGER_DECIDED = frozenset({ChangeStage.rejected, ChangeStage.cancelled, ChangeStage.expired})


def decision_refusal(state: ChangeState, decision: ApprovalDecision) -> Refusal | None:
    """A decision counts when the change awaits it (an emergency change's retrospective
    approvals: also after its rollout started), for this revision, from someone else than the
    requester or submitter, in the slot's group if it has one, for a slot still open."""
    if decision.approver in (state.requested_by, state.submitted_by):
        who = "requested" if decision.approver == state.requested_by else "submitted"
        return _forbidden(f"{decision.approver} {who} this change and cannot decide on it")
    approvals = state.approvals
    required = next((r for r in approvals.required if r.slot() == decision.slot()), None)
    late = required is not None and required.retrospective
    if state.stage != ChangeStage.awaiting_approval and not (
        late and state.stage not in NO_LONGER_DECIDED
    ):
        return _conflict(f"change {state.change_id} is {state.stage.value}, not awaiting approval")
    if decision.revision is not None and decision.revision != state.revision:
        return _conflict(
            f"the decision is for revision {decision.revision}; the change is at revision "
            f"{state.revision} now"
        )
    if any(d.approval_id == decision.approval_id for d in approvals.received):
        return _conflict(f"approval {decision.approval_id} was already recorded")
    signed_for = decision.signature.content_hash if decision.signature else None
    if signed_for is not None and signed_for != state.revision_hash:
        return _conflict(
            f"the decision signs revision hash {signed_for}, but the change's revision hash is "
            f"{state.revision_hash} now: look at the change again"
        )
    if required is None:
        label = RequiredApproval(role=decision.role, plant=decision.plant).label()
        wanted = ", ".join(r.label() for r in approvals.required)
        return _conflict(f"no {label} approval is required for this change (required: {wanted})")
    if any(
        d.slot() == decision.slot() and d.approver == decision.approver for d in approvals.received
    ):
        return _conflict(f"{decision.approver} already decided the {required.label()} approval")
    if is_decided(approvals, required):
        return _conflict(f"the {required.label()} decision was already given")
    if decision.on_behalf_role is not None and not required.may_decide(decision.on_behalf_role):
        return _forbidden(
            f"{decision.on_behalf_role.value} may not record the {required.label()} approval "
            f"(recorded by: {', '.join(r.value for r in required.recorded_by) or 'nobody'})"
        )
    if required.group and decision.approver not in required.members:
        return _forbidden(
            f"{decision.approver} is not in {required.group}, which decides {required.label()}"
        )
    if decision.decision != Decision.approve and not decision.comment.strip():
        return Refusal(
            kind=RefusalKind.invalid,
            message=f"a {decision.decision.value} decision needs a comment saying why",
        )
    if required.recorded_by and not (decision.evidence or "").strip():
        return Refusal(
            kind=RefusalKind.invalid,
            message=f"the {required.label()} approval is recorded on its behalf: give the "
            "evidence reference (the customer's letter, portal record, ...)",
        )
    return None


def may_resolve(
    role: Role | None, plant: str | None, task_id: str, task_plant: str | None
) -> str | None:
    """Who may answer a held task: admin; engineering (central, or of the task's plant);
    production of the task's plant. None when allowed, else why not."""
    if role == Role.admin:
        return None
    if role == Role.engineering and (plant is None or plant == task_plant):
        return None
    if role == Role.production and task_plant is not None and plant == task_plant:
        return None
    where = f"plant {task_plant}" if task_plant else "a central system"
    return (
        f"task {task_id} belongs to {where}: only admin, engineering"
        + (f" or production of {task_plant}" if task_plant else "")
        + " may resolve it"
    )


def resolution_refusal(state: ChangeState, resolution: Resolution) -> Refusal | None:
    hold = state.hold
    if state.stage != ChangeStage.on_hold or hold is None:
        return _conflict(f"change {state.change_id} is {state.stage.value}, not on hold")
    if hold.task_id != resolution.task_id:
        return _conflict(f"task {hold.task_id} is on hold, not {resolution.task_id}")
    if resolution.hold_id is not None and resolution.hold_id != hold.hold_id:
        return _conflict(
            f"the resolution answers an earlier hold of {hold.task_id}; it is on hold again"
        )
    task = next((t for t in state.tasks if t.id == hold.task_id), None)
    task_plant = task.plant if task is not None else hold.plant  # a large plan: from the hold
    reason = may_resolve(resolution.role, resolution.plant, hold.task_id, task_plant)
    if reason is not None:
        return _forbidden(reason)
    if resolution.action == ResolveAction.skip and not resolution.comment.strip():
        return Refusal(
            kind=RefusalKind.invalid,
            message="skipping a task needs a comment: say why the plant may run without it",
        )
    return None


def cancel_refusal(state: ChangeState, request: CancelRequest) -> Refusal | None:
    if is_final(state.stage):
        return _conflict(f"change {state.change_id} is already {state.stage.value}")
    if request.role != Role.admin and request.by not in (state.requested_by, state.submitted_by):
        return _forbidden("only the requester, the submitter or an admin can cancel")
    return None


def revision_refusal(state: ChangeState, revision: Revision) -> Refusal | None:
    """A revised change file counts when changes were requested, from the requester, the
    submitter or an admin, for the same kind of change."""
    if state.stage != ChangeStage.changes_requested:
        return _conflict(
            f"change {state.change_id} is {state.stage.value}; a revision is taken only after "
            "changes were requested"
        )
    if revision.role != Role.admin and revision.by not in (state.requested_by, state.submitted_by):
        return _forbidden("only the requester, the submitter or an admin revises a change")
    if revision.request.type != state.request.type:
        return Refusal(
            kind=RefusalKind.invalid,
            message=f"a revision keeps the change's type ({state.request.type.value}); submit a "
            f"new change for a {revision.request.type.value}",
        )
    return None
