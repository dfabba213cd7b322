"""Pure domain rules, no Temporal and no I/O."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.sim.seed import build_demo_thread
from domain.approvals.decisions import (
    ApprovalsState,
    Decision,
    RequiredApproval,
    Role,
    outcome,
    outstanding,
)
from domain.approvals.policy import default_policy, evaluate
from domain.change.errors import ChangeRejectedError, describe_validation_error
from domain.change.request import ChangeRequest
from domain.change.revisions import is_after, next_revision, revision_rank
from domain.impact.report import ImpactKind
from domain.rollout.builders import plan_rollout
from domain.rollout.tasks import (
    TaskStatus,
    compensation_order,
    idempotency_key,
    ready_tasks,
)
from tests.support.data import assess_demo, bracket_request, demo_index
from tests.support.helpers import decision_for

SNAPSHOT = build_demo_thread()


def test_revision_order() -> None:
    assert is_after("C", "B") and is_after("AA", "Z") and is_after("10", "9")
    assert not is_after("B", "C") and not is_after("B", "B")
    assert next_revision("Z") == "AA" and next_revision("B") == "C" and next_revision("9") == "10"
    with pytest.raises(ValueError, match="not a revision label"):
        revision_rank("c-1")


def test_change_request_errors_name_field_and_reason() -> None:
    data = bracket_request().model_dump(mode="json")
    data["items"][0]["to_revision"] = "A"
    data["plants"] = ["det"]
    del data["title"]
    with pytest.raises(ValidationError) as caught:
        ChangeRequest.model_validate(data)
    lines = describe_validation_error(caught.value)
    assert "title: Field required" in lines
    assert any(line.startswith("plants: 'det' is not a plant code") for line in lines)
    assert any(
        line.startswith("items.0: to_revision 'A' must come after from_revision 'B'")
        for line in lines
    )


def test_effectivity_date_needs_a_date() -> None:
    with pytest.raises(ValidationError, match="needs 'date'"):
        bracket_request(effectivity={"type": "date"})


def test_duplicate_item_rejected() -> None:
    item = {"part": "100-200", "from_revision": "B", "to_revision": "C"}
    with pytest.raises(ValidationError, match="appears twice"):
        bracket_request(items=[item, item])


def test_bracket_impact_lists_each_plant_with_reasons() -> None:
    report = assess_demo("ECO-1", bracket_request())
    assert report.plants == ["DET", "MTY"]
    end_items = {o.key for o in report.of_kind(ImpactKind.end_item)}
    assert end_items == {"ED-1000", "ED-2000"}
    parents = {o.key: o for o in report.of_kind(ImpactKind.parent_assembly)}
    assert parents["500-100"].disposition == "no revision change (interchangeable)"
    for plant in ("DET", "MTY"):
        wis = report.of_kind(ImpactKind.work_instruction, plant)
        assert {o.key for o in wis} == {f"WI-{plant}-200-100-10", f"WI-{plant}-500-100-10"}
        assert [o.key for o in report.of_kind(ImpactKind.inspection_plan, plant)] == [
            f"IP-{plant}-100-200"
        ]
        assert report.of_kind(ImpactKind.inventory, plant)
        assert report.of_kind(ImpactKind.production_order, plant)
        assert report.of_kind(ImpactKind.operator, plant)
    assert not [o for o in report.objects if o.plant == "BRN"]
    assert all(o.path and o.path[0].startswith("part 100-200 rev B -> C") for o in report.objects)
    assert report.fai_required  # the bracket's plan has a key characteristic


def test_non_interchangeable_rolls_every_parent() -> None:
    request = bracket_request(
        items=[
            {"part": "100-200", "from_revision": "B", "to_revision": "C", "interchangeable": False}
        ]
    )
    report = assess_demo("ECO-2", request)
    rolled = [
        o for o in report.objects if o.kind in (ImpactKind.parent_assembly, ImpactKind.end_item)
    ]
    assert rolled and all(o.disposition == "roll revision (non-interchangeable)" for o in rolled)


@pytest.mark.parametrize(
    ("item", "plants", "message"),
    [
        ({"part": "999-999", "from_revision": "A", "to_revision": "B"}, None, "not known to PLM"),
        ({"part": "100-200", "from_revision": "A", "to_revision": "B"}, None, "already exists"),
        (
            {"part": "100-200", "from_revision": "B", "to_revision": "C"},
            ["ZZZ"],
            "plant ZZZ does not exist",
        ),
        (
            {"part": "100-200", "from_revision": "B", "to_revision": "C"},
            ["BRN"],
            "plant BRN does not use part 100-200",
        ),
    ],
)
def test_assessment_refuses_bad_input(item: dict, plants: list[str] | None, message: str) -> None:
    with pytest.raises(ChangeRejectedError, match=message):
        assess_demo("ECO-3", bracket_request(items=[item], plants=plants))


def test_risk_factors_are_explained_and_sum_to_score() -> None:
    report = assess_demo("ECO-4", bracket_request(priority="emergency"))
    names = {f.name for f in report.risk.factors}
    assert {"safety_critical", "plants_affected", "emergency_priority", "fai_required"} <= names
    assert report.risk.score == pytest.approx(sum(f.contribution for f in report.risk.factors))
    emergency = next(f for f in report.risk.factors if f.name == "emergency_priority")
    assert emergency.contribution == emergency.weight


def test_required_approvals_follow_policy() -> None:
    report = assess_demo("ECO-5", bracket_request())
    labels = [r.label() for r in evaluate(default_policy(), bracket_request(), report)]
    assert labels == [
        "engineering",
        "quality",
        "production (DET)",
        "production (MTY)",
        "supply_chain",
    ]


def test_decision_rules() -> None:
    state = ApprovalsState(
        required=[
            RequiredApproval(role=Role.engineering),
            RequiredApproval(role=Role.production, plant="DET"),
        ]
    )
    eng = decision_for(state.required[0], "eng.kim", approval_id="a1")
    state.received.append(eng)
    assert outcome(state) is None and [r.label() for r in outstanding(state)] == [
        "production (DET)"
    ]
    state.received.append(decision_for(state.required[1], "det.prod"))
    assert outcome(state) == Decision.approve
    state.received[0] = decision_for(state.required[0], "eng.kim", Decision.reject)
    assert outcome(state) == Decision.reject


def test_rollout_plan_dependencies_and_compensation_order() -> None:
    request = bracket_request()
    report = assess_demo("ECO-6", request)
    tasks = plan_rollout(request, report)
    by_id = {t.id: t for t in tasks}
    assert [t.id for t in ready_tasks(tasks)] == ["PLM.release.100-200"]
    assert by_id["DET.QMS.plan.IP-DET-100-200"].depends_on == ["DET.ERP.mbom.100-200"]
    assert by_id["MTY.MES.wi.WI-MTY-200-100-10"].depends_on == ["MTY.QMS.plan.IP-MTY-100-200"]
    by_id["PLM.release.100-200"].status = TaskStatus.done
    assert {t.id for t in ready_tasks(tasks)} == {"DET.ERP.mbom.100-200", "MTY.ERP.mbom.100-200"}
    for task in tasks:
        task.status = TaskStatus.done
    order = [t.id for t in compensation_order(tasks)]
    assert order[-1] == "PLM.release.100-200"
    for task in tasks:
        for dep in task.depends_on:
            assert order.index(task.id) < order.index(dep)
    assert idempotency_key("ECO-6", "PLM.release.100-200") == "ECO-6:PLM.release.100-200:apply"


def test_seed_is_deterministic_and_realistic() -> None:
    again = build_demo_thread()
    assert again.model_dump() == SNAPSHOT.model_dump()
    assert 140 <= len(SNAPSHOT.parts) <= 170
    assert {p.code for p in SNAPSHOT.plants} == {"DET", "MTY", "BRN"}
    assert demo_index().ebom.find_cycle() is None


def test_every_task_action_has_a_handler() -> None:
    from activities.actions.registry import handler_for, registered
    from domain.rollout.tasks import TaskAction

    assert registered() == frozenset(TaskAction)
    for action in TaskAction:
        handler = handler_for(action)
        assert handler.name == action
        assert all(callable(getattr(handler, m)) for m in ("apply", "compensate", "read_back"))
