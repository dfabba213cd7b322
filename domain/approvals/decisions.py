"""Approval policy (which roles must approve) and the rules for a decision that arrives."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.signatures.signing import Signature


class Role(StrEnum):
    engineering = "engineering"
    quality = "quality"
    production = "production"
    supply_chain = "supply_chain"
    safety = "safety"
    it_ot = "it_ot"
    customer = "customer"  # a slot only: recorded by an internal user on the customer's behalf
    analyst = "analyst"
    operator = "operator"
    auditor = "auditor"
    notifier = "notifier"  # a mail or Teams integration: reads and marks the outbox, nothing else
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
    rule: str = Field(default="", description="The policy rule that asked for it.")
    need: int = Field(default=1, ge=1, description="How many different people must approve.")
    group: str | None = Field(default=None, description="Only members of this group decide.")
    members: list[str] = Field(default_factory=list)
    sla_hours: float | None = Field(default=None, description="Reminder at half, escalation at.")
    escalation: str | None = None
    recorded_by: list[Role] = Field(
        default_factory=list,
        description="Roles that record it on someone's behalf, with an evidence reference.",
    )
    retrospective: bool = Field(
        default=False, description="An emergency change's approval, due after it started."
    )
    due_hours: float | None = Field(default=None, description="A retrospective one's deadline.")

    def slot(self) -> tuple[str, str | None]:
        return (self.role.value, self.plant)

    def label(self) -> str:
        text = f"{self.role.value}" + (f" ({self.plant})" if self.plant else "")
        if self.need > 1 or self.group:
            text += f" [{self.need} of {self.group}]" if self.group else f" [{self.need}]"
        return text + (" (retrospective)" if self.retrospective else "")

    def may_decide(self, role: Role | None) -> bool:
        """The user's role decides this slot: its own role, or one recording on its behalf."""
        return role == self.role or role in self.recorded_by


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
    evidence: str | None = Field(
        default=None, max_length=500, description="For an approval recorded on behalf of another."
    )
    on_behalf_role: Role | None = Field(
        default=None, description="The role of the internal user who recorded it on behalf."
    )
    signature: Signature | None = None

    def slot(self) -> tuple[str, str | None]:
        return (self.role.value, self.plant)


class ApprovalsState(BaseModel):
    required: list[RequiredApproval] = Field(default_factory=list)
    received: list[ApprovalDecision] = Field(default_factory=list)
    ignored: list[str] = Field(
        default_factory=list, description="Decisions not counted, with the reason."
    )


def approvals_in(state: ApprovalsState, slot: tuple[str, str | None]) -> list[ApprovalDecision]:
    return [d for d in state.received if d.slot() == slot and d.decision == Decision.approve]


def is_complete(state: ApprovalsState, required: RequiredApproval) -> bool:
    """Enough different people approved the slot."""
    return len({d.approver for d in approvals_in(state, required.slot())}) >= required.need


def is_decided(state: ApprovalsState, required: RequiredApproval) -> bool:
    """The slot takes no more decisions: approved by enough people, or refused by one (a
    rejection or a request for changes decides it)."""
    refused = any(
        d.slot() == required.slot() and d.decision != Decision.approve for d in state.received
    )
    return refused or is_complete(state, required)


def outstanding(
    state: ApprovalsState, retrospective: bool | None = False
) -> list[RequiredApproval]:
    """Required approvals not yet given (by default those needed before the rollout; None:
    all of them; True: only the retrospective ones of an emergency change)."""
    return [
        r
        for r in state.required
        if not is_complete(state, r) and (retrospective is None or r.retrospective == retrospective)
    ]


def outcome(state: ApprovalsState) -> Decision | None:
    """reject or request_changes as soon as one arrives; approve once every approval needed
    before the rollout is given (an emergency change's retrospective ones come later)."""
    for decision in state.received:
        if decision.decision != Decision.approve:
            return decision.decision
    if state.required and not outstanding(state):
        return Decision.approve
    return None


VERBS = {
    Decision.approve: "approved",
    Decision.reject: "rejected",
    Decision.request_changes: "changes requested",
}


def meaning(
    decision: Decision, role: Role, plant: str | None, on_behalf: Role | None = None
) -> str:
    """What a signed decision means in words (21 CFR Part 11 §11.50): 'approved as quality for
    DET'; 'approved as customer (recorded by quality)'."""
    text = f"{VERBS[decision]} as {role.value}" + (f" for {plant}" if plant else "")
    return text + (f" (recorded by {on_behalf.value})" if on_behalf else "")
