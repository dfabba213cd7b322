"""The approval policy: rules (from `changeflow.toml`, today's rules by default) that turn a
change and its impact report into the approvals it needs, each saying which rule asked for it
and why. A rule names a condition (a registered function of the change and its impact), the role
that decides, how many must (one, all of a named group, or a quorum such as 51% of it), an SLA
and an escalation contact. Emergency changes need one engineering approval to start; the rest
are required retrospectively, within a deadline, except those of the roles the policy keeps before
the rollout (`[approvals.emergency] never_retrospective`, safety and quality by default); only the
roles `[approvals.emergency] declare` lists may declare an emergency. The policy also says who may
submit a change on someone else's behalf, how long a signing session lasts and how long a lock
after wrong passwords holds. Pure."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from pydantic import BaseModel, Field, field_validator, model_validator

from domain.approvals.decisions import RequiredApproval, Role
from domain.change.request import ChangeRequest, ChangeType, Priority
from domain.impact.report import ImpactKind, ImpactReport

Slots = list[tuple[str | None, str]]  # (plant or None, why the rule applies)
Condition = Callable[[ChangeRequest, ImpactReport], Slots]
CONDITIONS: dict[str, Condition] = {}


def condition(name: str) -> Callable[[Condition], Condition]:
    """Register a condition a rule can name in `when`."""

    def register(fn: Condition) -> Condition:
        CONDITIONS[name] = fn
        return fn

    return register


@condition("always")
def _always(request: ChangeRequest, report: ImpactReport) -> Slots:
    return [(None, "every change")]


@condition("inspection_or_fai")
def _inspection(request: ChangeRequest, report: ImpactReport) -> Slots:
    plans = report.of_kind(ImpactKind.inspection_plan)
    if not plans and not report.fai_required:
        return []
    why = f"{len(plans)} inspection plan(s) touched"
    return [(None, why + ("; first-article inspection required" if report.fai_required else ""))]


@condition("each_affected_plant")
def _plants(request: ChangeRequest, report: ImpactReport) -> Slots:
    return [(plant, f"{plant} is affected") for plant in report.plants]


@condition("supply_records")
def _supply(request: ChangeRequest, report: ImpactReport) -> Slots:
    kinds = (ImpactKind.inventory, ImpactKind.purchase_order, ImpactKind.production_order)
    touched = [o for o in report.objects if o.kind in kinds]
    if not touched:
        return []
    return [(None, f"{len(touched)} stock, purchase or production order record(s) touched")]


def _factor(report: ImpactReport, name: str) -> bool:
    return any(f.name == name and f.value > 0 for f in report.risk.factors)


@condition("safety_critical")
def _safety(request: ChangeRequest, report: ImpactReport) -> Slots:
    if not _factor(report, "safety_critical"):
        return []
    return [(None, "safety-critical part or characteristic")]


@condition("system_release")
def _release(request: ChangeRequest, report: ImpactReport) -> Slots:
    return [(None, "system release")] if request.type == ChangeType.system_release else []


@condition("customer_controlled")
def _customer(request: ChangeRequest, report: ImpactReport) -> Slots:
    if not _factor(report, "regulated_part"):
        return []
    return [(None, "a customer-controlled (regulated) part is touched")]


QUORUM = re.compile(r"^(\d{1,3})%$")


class ApprovalRule(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    role: Role
    when: str = Field(description="A registered condition: " + ", ".join(sorted(CONDITIONS)))
    need: str = Field(default="one", description="one | all | N% (of `group`)")
    group: str | None = Field(default=None, description="A named group in [approvals.groups].")
    sla_hours: float | None = Field(default=None, gt=0)
    escalation: str | None = Field(default=None, description="Who is told when the SLA passes.")
    recorded_by: list[Role] = Field(
        default_factory=list,
        description="Roles that record this approval on someone's behalf (e.g. the customer), "
        "with an evidence reference.",
    )

    @field_validator("when")
    @classmethod
    def _known_condition(cls, value: str) -> str:
        if value not in CONDITIONS:
            known = ", ".join(sorted(CONDITIONS))
            raise ValueError(f"unknown condition {value!r} (known: {known})")
        return value

    @field_validator("need")
    @classmethod
    def _need_form(cls, value: str) -> str:
        match = QUORUM.match(value)
        if value not in ("one", "all") and not (match and 0 < int(match.group(1)) <= 100):
            raise ValueError(f"need must be one, all or a percentage like 51%, not {value!r}")
        return value


class EmergencyPolicy(BaseModel):
    """`[approvals.emergency]`: who may declare an emergency, and which approvals an emergency
    never postpones (engineering or admin declare; safety and quality stay before rollout)."""

    declare: list[Role] = Field(
        default_factory=lambda: [Role.engineering, Role.admin],
        description="The roles that may submit (or revise) a change with priority emergency.",
    )
    never_retrospective: list[Role] = Field(
        default_factory=lambda: [Role.safety, Role.quality],
        description="Approvals of these roles are needed before an emergency change rolls out.",
    )


class ApprovalPolicy(BaseModel):
    rules: list[ApprovalRule]
    groups: dict[str, list[str]] = Field(default_factory=dict)
    emergency_retrospective_hours: float = Field(default=72, gt=0)
    emergency: EmergencyPolicy = Field(default_factory=EmergencyPolicy)
    expire_after_days: float | None = Field(
        default=30, gt=0, description="A change still awaiting approval this long expires."
    )
    signing_session_minutes: float = Field(
        default=0,
        ge=0,
        description="0: every signature asks for the password. Above 0: after a signing on the "
        "approver pages, that browser session signs without it for this long (never the API, "
        "never opened by signing in).",
    )
    require_password: bool = Field(
        default=True, description="Each decision is signed by re-entering the password."
    )
    lock_minutes: float = Field(
        default=15,
        ge=0,
        description="A user locked after five wrong passwords is unlocked after this long "
        "(0: only an admin unlocks, `changeflow users unlock`).",
    )
    submit_on_behalf: list[Role] = Field(
        default_factory=lambda: [Role.admin, Role.engineering],
        description="The roles that may name someone else as a change's requester.",
    )

    @model_validator(mode="after")
    def _groups_exist(self) -> ApprovalPolicy:
        for rule in self.rules:
            if rule.need != "one" and not rule.group:
                raise ValueError(f"rule {rule.name}: need {rule.need} needs a group")
            if rule.group and not self.groups.get(rule.group):
                raise ValueError(f"rule {rule.name}: group {rule.group} is not defined or empty")
        return self

    def needed(self, rule: ApprovalRule) -> int:
        members = self.groups.get(rule.group or "", [])
        if rule.need == "one":
            return 1
        if rule.need == "all":
            return len(members)
        share = int(rule.need.rstrip("%"))
        return max(1, math.ceil(len(members) * share / 100))


DEFAULT_RULES = [
    ApprovalRule(name="engineering", role=Role.engineering, when="always"),
    ApprovalRule(name="quality", role=Role.quality, when="inspection_or_fai"),
    ApprovalRule(name="production", role=Role.production, when="each_affected_plant"),
    ApprovalRule(name="supply-chain", role=Role.supply_chain, when="supply_records"),
    ApprovalRule(name="safety", role=Role.safety, when="safety_critical"),
    ApprovalRule(name="it-ot", role=Role.it_ot, when="system_release"),
]


def default_policy() -> ApprovalPolicy:
    """Today's rules: engineering always, then each role when the impact calls for it."""
    return ApprovalPolicy(rules=[r.model_copy() for r in DEFAULT_RULES])


class Explanation(BaseModel):
    rule: str
    when: str
    applied: bool
    approvals: list[RequiredApproval] = Field(default_factory=list)


def explain(
    policy: ApprovalPolicy, request: ChangeRequest, report: ImpactReport
) -> list[Explanation]:
    """Each rule, whether it applied and the approvals it asked for (why, how many, by when)."""
    out: list[Explanation] = []
    for rule in policy.rules:
        slots = CONDITIONS[rule.when](request, report)
        approvals = [
            RequiredApproval(
                role=rule.role,
                plant=plant,
                reason=why,
                rule=rule.name,
                need=policy.needed(rule),
                group=rule.group,
                members=list(policy.groups.get(rule.group or "", [])),
                sla_hours=rule.sla_hours,
                escalation=rule.escalation,
                recorded_by=list(rule.recorded_by),
            )
            for plant, why in slots
        ]
        out.append(
            Explanation(rule=rule.name, when=rule.when, applied=bool(slots), approvals=approvals)
        )
    if request.priority == Priority.emergency:
        _emergency(policy, [a for e in out for a in e.approvals])
    return out


def _emergency(policy: ApprovalPolicy, approvals: list[RequiredApproval]) -> None:
    """One engineering approval starts the rollout; the rest are due retrospectively, except
    those of the roles the policy never postpones (safety and quality by default), which stay
    before the rollout. Without an engineering approval to start it, an emergency change needs
    every approval first."""
    first = next((a for a in approvals if a.role == Role.engineering and a.need == 1), None)
    if first is None:
        return
    kept = set(policy.emergency.never_retrospective)
    for approval in approvals:
        if approval is not first and approval.role not in kept:
            approval.retrospective = True
            approval.due_hours = policy.emergency_retrospective_hours


def may_declare_emergency(policy: ApprovalPolicy, role: Role) -> str | None:
    """None when `role` may declare an emergency; otherwise why not, naming the policy."""
    if role in policy.emergency.declare:
        return None
    allowed = ", ".join(r.value for r in policy.emergency.declare) or "nobody"
    return (
        f"priority emergency: {role.value} may not declare an emergency; the policy "
        f"([approvals.emergency] declare) allows {allowed}"
    )


def may_submit_on_behalf(policy: ApprovalPolicy, role: Role) -> str | None:
    """None when `role` may name someone else as a change's requester; otherwise why not."""
    if role in policy.submit_on_behalf:
        return None
    allowed = ", ".join(r.value for r in policy.submit_on_behalf) or "nobody"
    return (
        f"requested_by: {role.value} may submit only as the requester (leave requested_by out "
        f"or name yourself); the policy ([approvals] submit_on_behalf) lets {allowed} submit on "
        "someone's behalf"
    )


def evaluate(
    policy: ApprovalPolicy, request: ChangeRequest, report: ImpactReport
) -> list[RequiredApproval]:
    """The approvals a change needs under the policy, in rule order."""
    return [a for e in explain(policy, request, report) for a in e.approvals]
