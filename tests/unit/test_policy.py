"""Issue 8, policy: approval rules from configuration (today's by default), quorums of named
groups, customer approvals recorded on the customer's behalf, emergency changes approved
retrospectively, and the rules a decision must pass (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.approvals.decisions import (
    ApprovalDecision,
    ApprovalsState,
    Decision,
    Role,
    outcome,
    outstanding,
)
from domain.approvals.policy import ApprovalPolicy, default_policy, evaluate, explain
from domain.change.request import ChangeType
from domain.change.stages import ChangeStage
from domain.lifecycle.human_input import decision_refusal
from domain.lifecycle.state import ChangeState
from infra.settings import SettingsError, load_settings
from tests.support.data import assess_demo, bracket_request

BOARD = ["qa.lee", "qa.park", "qa.kim", "qa.diaz"]
CONFIG = """
[approvals]
emergency_retrospective_hours = 48
expire_after_days = 10

[approvals.groups]
quality-board = ["qa.lee", "qa.park", "qa.kim", "qa.diaz"]

[[approvals.rules]]
name = "engineering"
role = "engineering"
when = "always"
sla_hours = 24
escalation = "eng.manager"

[[approvals.rules]]
name = "quality-board"
role = "quality"
when = "inspection_or_fai"
need = "51%"
group = "quality-board"

[[approvals.rules]]
name = "production"
role = "production"
when = "each_affected_plant"

[[approvals.rules]]
name = "customer"
role = "customer"
when = "customer_controlled"
recorded_by = ["quality"]
"""


def policy_from(tmp_path, text: str) -> ApprovalPolicy:
    path = tmp_path / "changeflow.toml"
    path.write_text(text)
    return load_settings(path, env={}).approvals


def decision(role: Role, approver: str, plant: str | None = None, **kw) -> ApprovalDecision:
    return ApprovalDecision(
        approval_id=f"{approver}-{role.value}-{plant}",
        decision=kw.pop("decision", Decision.approve),
        role=role,
        plant=plant,
        approver=approver,
        decided_at=datetime.now(UTC),
        **kw,
    )


def state_with(required, stage=ChangeStage.awaiting_approval) -> ChangeState:
    return ChangeState(
        change_id="ECO-1",
        title="t",
        type="part_revision",
        stage=stage,
        requested_by="maria.engineer",
        submitted_by="maria.engineer",
        priority="normal",
        request=bracket_request(),
        approvals=ApprovalsState(required=required),
    )


def test_the_default_policy_is_todays_rules() -> None:
    request = bracket_request()
    required = evaluate(default_policy(), request, assess_demo("ECO-1", request))
    assert [r.label() for r in required] == [
        "engineering",
        "quality",
        "production (DET)",
        "production (MTY)",
        "supply_chain",
    ]
    assert [r.rule for r in required] == [
        "engineering",
        "quality",
        "production",
        "production",
        "supply-chain",
    ]
    assert all(r.need == 1 and not r.retrospective for r in required)


def test_rules_from_configuration_with_a_quorum_an_sla_and_a_customer(tmp_path) -> None:
    policy = policy_from(tmp_path, CONFIG)
    request = bracket_request()
    report = assess_demo("ECO-1", request)
    explained = {e.rule: e for e in explain(policy, request, report)}
    assert set(explained) == {"engineering", "quality-board", "production", "customer"}
    board = explained["quality-board"].approvals[0]
    assert (board.need, board.group, board.members) == (3, "quality-board", BOARD)  # 51% of 4
    eng = explained["engineering"].approvals[0]
    assert (eng.sla_hours, eng.escalation) == (24, "eng.manager")
    assert [a.plant for a in explained["production"].approvals] == ["DET", "MTY"]
    customer = explained["customer"]
    assert customer.applied == any(
        f.name == "regulated_part" and f.value > 0 for f in report.risk.factors
    )
    assert policy.expire_after_days == 10


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[approvals.rules]]\nname="x"\nrole="quality"\nwhen="sometimes"\n', "unknown condition"),
        ('[[approvals.rules]]\nname="x"\nrole="quality"\nwhen="always"\nneed="all"\n', "group"),
        (
            '[[approvals.rules]]\nname="x"\nrole="quality"\nwhen="always"\nneed="50%"\n'
            'group="nobody"\n',
            "not defined",
        ),
        ('[[approvals.rules]]\nname="x"\nrole="quality"\nwhen="always"\nneed="most"\n', "51%"),
    ],
)
def test_a_policy_that_cannot_work_is_refused_at_startup(tmp_path, text, problem) -> None:
    with pytest.raises(SettingsError, match=problem):
        policy_from(tmp_path, text)


def test_a_quorum_needs_that_many_different_members(tmp_path) -> None:
    policy = policy_from(tmp_path, CONFIG)
    request = bracket_request()
    required = evaluate(policy, request, assess_demo("ECO-1", request))
    state = state_with(required)
    board = next(r for r in required if r.group)
    outsider = decision(Role.quality, "qa.outsider")
    refusal = decision_refusal(state, outsider)
    assert refusal.kind == "Forbidden" and "not in quality-board" in refusal.message
    for name in ("qa.lee", "qa.park"):
        assert decision_refusal(state, decision(Role.quality, name)) is None
        state.approvals.received.append(decision(Role.quality, name))
    twice = decision(Role.quality, "qa.lee").model_copy(update={"approval_id": "again"})
    assert "already decided" in decision_refusal(state, twice).message
    assert board in outstanding(state.approvals)  # 2 of 3
    state.approvals.received.append(decision(Role.quality, "qa.kim"))
    assert board not in outstanding(state.approvals)
    late = decision(Role.quality, "qa.diaz")
    assert "already given" in decision_refusal(state, late).message


def test_a_customer_approval_is_recorded_on_its_behalf_with_evidence() -> None:
    from domain.approvals.decisions import RequiredApproval

    customer = RequiredApproval(role=Role.customer, recorded_by=[Role.quality], rule="customer")
    assert customer.may_decide(Role.quality) and not customer.may_decide(Role.production)
    state = state_with([customer])
    bare = decision(Role.customer, "qa.lee", on_behalf_role=Role.quality)
    assert "evidence" in decision_refusal(state, bare).message
    given = decision(Role.customer, "qa.lee", evidence="ACME-PPAP-77", on_behalf_role=Role.quality)
    assert decision_refusal(state, given) is None
    wrong = given.model_copy(update={"on_behalf_role": Role.production})
    assert decision_refusal(state, wrong).kind == "Forbidden"


def test_an_emergency_change_starts_on_one_engineering_approval() -> None:
    request = bracket_request(priority="emergency")
    required = evaluate(default_policy(), request, assess_demo("ECO-1", request))
    first, *rest = required
    assert first.role == Role.engineering and not first.retrospective
    # quality (and safety) are never retrospective by default ([approvals.emergency])
    kept = [r for r in rest if r.role == Role.quality]
    later = [r for r in rest if r.role != Role.quality]
    assert kept and not any(r.retrospective for r in kept)
    assert later and all(r.retrospective and r.due_hours == 72 for r in later)
    state = state_with(required)
    assert outcome(state.approvals) is None
    state.approvals.received.append(decision(Role.engineering, "eng.kim"))
    assert outcome(state.approvals) is None  # quality before the rollout too
    state.approvals.received.append(decision(Role.quality, "qa.lee"))
    assert outcome(state.approvals) == Decision.approve  # the rollout may start
    assert len(outstanding(state.approvals, retrospective=True)) == len(later)
    # the retrospective ones are still taken while it rolls out, and after it completed
    for stage in (ChangeStage.rolling_out, ChangeStage.completed):
        state.stage = stage
        assert decision_refusal(state, decision(Role.supply_chain, "sc.ortiz")) is None
    assert "not awaiting" in decision_refusal(state, decision(Role.engineering, "eng.x")).message
    state.stage = ChangeStage.rejected
    assert decision_refusal(state, decision(Role.supply_chain, "sc.ortiz")) is not None


def test_a_revision_comes_from_the_requester_after_changes_were_requested() -> None:
    from domain.lifecycle.human_input import revision_refusal
    from domain.messages import Revision

    state = state_with([], stage=ChangeStage.changes_requested)
    mine = Revision(revision_id="r1", by="maria.engineer", request=bracket_request())
    assert revision_refusal(state, mine) is None
    assert revision_refusal(state, mine.model_copy(update={"by": "qa.lee"})).kind == "Forbidden"
    admin = mine.model_copy(update={"by": "ops.admin", "role": Role.admin})
    assert revision_refusal(state, admin) is None
    other = state.request.model_copy(update={"type": ChangeType.system_release})
    kind = revision_refusal(state, mine.model_copy(update={"request": other})).kind
    assert kind == "InvalidInput"
    state.stage = ChangeStage.awaiting_approval
    assert revision_refusal(state, mine).kind == "Conflict"


def test_the_example_configuration_loads_with_its_slas() -> None:
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "changeflow.toml"
    policy = load_settings(example, env={}).approvals
    assert [r.name for r in policy.rules] == [r.name for r in default_policy().rules]
    assert next(r for r in policy.rules if r.name == "engineering").sla_hours == 48


def test_a_refusal_decides_its_slot_whoever_comes_next() -> None:
    """Two quality approvers at once: a rejection that arrived first is not outvoted."""
    from domain.approvals.decisions import RequiredApproval

    state = state_with([RequiredApproval(role=Role.quality)])
    state.approvals.received.append(
        decision(Role.quality, "qa.lee", decision=Decision.reject, comment="torque spec missing")
    )
    late = decision_refusal(state, decision(Role.quality, "qa.park"))
    assert late.kind == "Conflict" and "already given" in late.message
