"""Issue "Signatures and records that hold against an insider", defect 6 (policy and API): anyone
could declare an emergency, and an emergency made every approval but one engineering approval
retrospective, safety and quality included. Who may declare one and which approvals never become
retrospective are policy (`[approvals.emergency] declare`, `never_retrospective`; engineering or
admin declare, safety and quality stay before rollout by default); the API refuses an emergency
from another role, naming the policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from domain.approvals.decisions import Role
from domain.approvals.policy import default_policy, evaluate
from domain.change.stages import ChangeStage
from infra.settings import load_settings
from starter.api.routes import changes as change_routes
from tests.support.data import EXAMPLE, assess_demo, bracket_request
from tests.unit.api_stub import Api, change_state, stub_api

PAWL = {"part": "310-017", "from_revision": "A", "to_revision": "B"}  # safety-critical


def safety_critical_emergency():
    """The bracket (inspection plans: quality) and the park lock pawl (safety-critical)."""
    bracket = bracket_request().items[0].model_dump()
    return bracket_request(priority="emergency", items=[bracket, PAWL])


def test_an_emergency_keeps_safety_and_quality_before_rollout() -> None:
    request = safety_critical_emergency()
    report = assess_demo("ECO-E1", request)
    assert any(f.name == "safety_critical" and f.value > 0 for f in report.risk.factors)
    required = evaluate(default_policy(), request, report)
    before = {r.role for r in required if not r.retrospective}
    later = {r.role for r in required if r.retrospective}
    assert before == {Role.engineering, Role.safety, Role.quality}
    assert later and not later & {Role.safety, Role.quality, Role.engineering}
    assert all(r.due_hours == 72 for r in required if r.retrospective)
    assert {Role.production, Role.supply_chain} <= later  # every plant's production: after
    # a normal change: nothing is retrospective
    normal = request.model_copy(update={"priority": "normal"})
    assert not any(r.retrospective for r in evaluate(default_policy(), normal, report))


def test_the_emergency_rules_come_from_the_approvals_table(tmp_path: Path) -> None:
    from domain.approvals.policy import may_declare_emergency

    config = tmp_path / "changeflow.toml"
    config.write_text(
        '[approvals.emergency]\ndeclare = ["admin"]\nnever_retrospective = ["safety"]\n'
    )
    policy = load_settings(config, env={}).approvals
    assert policy.emergency.declare == [Role.admin]
    assert may_declare_emergency(policy, Role.engineering) is not None
    assert may_declare_emergency(policy, Role.admin) is None
    request = safety_critical_emergency()
    required = evaluate(policy, request, assess_demo("ECO-E2", request))
    assert {r.role for r in required if not r.retrospective} == {Role.engineering, Role.safety}
    defaults = load_settings(env={}).approvals.emergency
    assert (defaults.declare, defaults.never_retrospective) == (
        [Role.engineering, Role.admin],
        [Role.safety, Role.quality],
    )


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Api:
    async def nothing_wrong(*_args: object) -> list[str]:
        return []

    monkeypatch.setattr(change_routes, "validate_against_systems", nothing_wrong)
    return stub_api(tmp_path)


def emergency_file(requested_by: str) -> dict:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(priority="emergency", requested_by=requested_by)
    return data


def test_only_the_policys_roles_declare_an_emergency(api: Api) -> None:
    with TestClient(api.app) as web:
        analyst = web.post(
            "/api/changes", json=emergency_file("ana.lyst"), headers=api.auth("ana.lyst")
        )
        assert analyst.status_code == 403, analyst.text
        assert "[approvals.emergency] declare" in analyst.json()["detail"]
        assert api.temporal.started == []
        engineer = web.post(
            "/api/changes", json=emergency_file("eng.kim"), headers=api.auth("eng.kim")
        )
        assert engineer.status_code == 201, engineer.text
        # a revision cannot turn a change into an emergency either
        api.temporal.states["CHG-4"] = change_state(
            "CHG-4", requested_by="ana.lyst", stage=ChangeStage.changes_requested
        )
        revised = web.post(
            "/api/changes/CHG-4/revise",
            json={"change": emergency_file("ana.lyst")},
            headers=api.auth("ana.lyst"),
        )
        assert revised.status_code == 403 and "emergency" in revised.text
    (started,) = api.temporal.started
    assert started.request.priority.value == "emergency"
    assert api.temporal.updates == []
