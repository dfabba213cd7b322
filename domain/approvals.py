"""Approval policy (which roles must approve) and the rules for a decision that arrives."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.change_request import ChangeRequest, ChangeType
from domain.impact import ImpactKind, ImpactReport
from domain.signing import Signature


class Role(StrEnum):
    engineering = "engineering"
    quality = "quality"
    production = "production"
    supply_chain = "supply_chain"
    safety = "safety"
    it_ot = "it_ot"
    analyst = "analyst"
    operator = "operator"
    auditor = "auditor"
    admin = "admin"


APPROVER_ROLES = frozenset(
    {Role.engineering, Role.quality, Role.production, Role.supply_chain, Role.safety, Role.it_ot}
)
PLANT_ROLES = frozenset({Role.production, Role.operator})


class Decision(StrEnum):
    approve = "approve"
    reject = "reject"
    request_changes = "request_changes"


class RequiredApproval(BaseModel):
    role: Role
    plant: str | None = None
    reason: str = ""

    def slot(self) -> tuple[str, str | None]:
        return (self.role.value, self.plant)

    def label(self) -> str:
        return f"{self.role.value}" + (f" ({self.plant})" if self.plant else "")


class ApprovalDecision(BaseModel):
    """A person's decision, as the API signs it and sends it to the workflow (an Update whose id
    is the approval id). `change_id` and `revision` bind it to one revision of one change."""

    approval_id: str = Field(min_length=1, max_length=100)
    decision: Decision
    role: Role
    plant: str | None = None
    approver: str
    comment: str = ""
    decided_at: datetime
    change_id: str = ""
    revision: int | None = None
    signature: Signature | None = None

    def slot(self) -> tuple[str, str | None]:
        return (self.role.value, self.plant)


class ApprovalsState(BaseModel):
    required: list[RequiredApproval] = Field(default_factory=list)
    received: list[ApprovalDecision] = Field(default_factory=list)
    ignored: list[str] = Field(
        default_factory=list, description="Decisions not counted, with the reason."
    )


def required_approvals(request: ChangeRequest, report: ImpactReport) -> list[RequiredApproval]:
    """Map impact to the roles that must approve, with the reason for each."""
    required = [RequiredApproval(role=Role.engineering, reason="every change")]
    plans = report.of_kind(ImpactKind.inspection_plan)
    if plans or report.fai_required:
        required.append(
            RequiredApproval(
                role=Role.quality,
                reason=f"{len(plans)} inspection plan(s) touched"
                + ("; first-article inspection required" if report.fai_required else ""),
            )
        )
    for plant in report.plants:
        required.append(
            RequiredApproval(role=Role.production, plant=plant, reason=f"{plant} is affected")
        )
    supply = [
        o
        for o in report.objects
        if o.kind in (ImpactKind.inventory, ImpactKind.purchase_order, ImpactKind.production_order)
    ]
    if supply:
        required.append(
            RequiredApproval(
                role=Role.supply_chain,
                reason=f"{len(supply)} stock, purchase or production order record(s) touched",
            )
        )
    if any(f.name == "safety_critical" and f.value > 0 for f in report.risk.factors):
        required.append(
            RequiredApproval(role=Role.safety, reason="safety-critical part or characteristic")
        )
    if request.type == ChangeType.system_release:
        required.append(RequiredApproval(role=Role.it_ot, reason="system release"))
    return required


def check_decision(state: ApprovalsState, decision: ApprovalDecision, requester: str) -> str | None:
    """None when the decision counts; otherwise the reason it does not."""
    if any(d.approval_id == decision.approval_id for d in state.received):
        return f"approval {decision.approval_id} was already recorded"
    if decision.approver == requester:
        return f"{decision.approver} requested this change and cannot decide on it"
    slots = {r.slot() for r in state.required}
    if decision.slot() not in slots:
        wanted = ", ".join(r.label() for r in state.required)
        label = RequiredApproval(role=decision.role, plant=decision.plant).label()
        return f"no {label} approval is required for this change (required: {wanted})"
    if any(d.slot() == decision.slot() for d in state.received):
        label = RequiredApproval(role=decision.role, plant=decision.plant).label()
        return f"the {label} decision was already given"
    return None


def outstanding(state: ApprovalsState) -> list[RequiredApproval]:
    """Required approvals no decision has been given for yet."""
    decided = {d.slot() for d in state.received}
    return [r for r in state.required if r.slot() not in decided]


def outcome(state: ApprovalsState) -> Decision | None:
    """reject or request_changes as soon as one arrives; approve once all are approved."""
    for decision in state.received:
        if decision.decision != Decision.approve:
            return decision.decision
    if state.required and not outstanding(state):
        return Decision.approve
    return None
