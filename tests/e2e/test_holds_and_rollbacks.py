"""Holds and rollbacks through the real connectors: a system of record refuses a write (the
simulator answers 409, a business refusal: no retry, the change holds), and what is decided over
HTTP leaves every system as it should be. The workflow tests own the branching itself (hold then
retry, skip, rollback, cancellation, with fake activities); here is what only the real stack
shows: the connectors' compensations restore each system exactly, for every change type, and the
API's answers to whoever resolves the hold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from temporalio.client import WorkflowFailureError

from tests.e2e.footprints import admin_footprint, mes_footprint, part_footprint, routing_footprint
from tests.support.e2e_stack import BRACKET, Stack, poll, poll_state

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROCESS = EXAMPLES / "process-change-takt.yaml"
RELEASE = EXAMPLES / "mes-release.yaml"
EQUIPMENT = EXAMPLES / "equipment-spindle.yaml"
COMPACT_HOUSING = "200-300"  # in BRN only, like the shaft


async def test_skip_rules_and_deviations_through_the_api(stack: Stack) -> None:
    """Defect 5: only the task's plant (or admin/engineering) skips, with a comment; the change
    ends completed_with_deviations and says what is inconsistent. Only the held task can be
    resolved, and not by just anyone. (The compact housing is left with a deviation: no other
    test changes it.)"""
    change_id = await stack.submit(stack.part_change(COMPACT_HOUSING))
    # QMS in BRN rejects the first revision (a business rejection: no retry, the change holds)
    stack.sim.post(
        "/sim/faults",
        json={"path_contains": "/qms/BRN/inspection-plans", "status": 409, "times": 1},
    )
    await stack.approve_all(change_id)
    state = await poll(stack, change_id, "on_hold")
    task_id = state.hold.task_id
    assert task_id == f"BRN.QMS.plan.IP-BRN-{COMPACT_HOUSING}"
    url = f"/api/changes/{change_id}/resolve"
    not_held = await stack.api.post(
        url, json={"task_id": "nope", "action": "retry"}, headers=stack.auth("ops.admin")
    )
    assert not_held.status_code == 409, not_held.text
    supply_chain = await stack.api.post(
        url, json={"task_id": task_id, "action": "retry"}, headers=stack.auth("sc.ortiz")
    )
    assert supply_chain.status_code == 403, supply_chain.text
    other_plant = await stack.api.post(
        url,
        json={"task_id": task_id, "action": "skip", "comment": "x"},
        headers=stack.auth("det.prod"),
    )
    assert other_plant.status_code == 403, other_plant.text
    no_comment = await stack.api.post(
        url, json={"task_id": task_id, "action": "skip"}, headers=stack.auth("brn.prod")
    )
    assert no_comment.status_code == 422, no_comment.text
    ok = await stack.api.post(
        url,
        json={"task_id": task_id, "action": "skip", "comment": "BRN QMS migrates next week"},
        headers=stack.auth("brn.prod"),
    )
    assert ok.status_code == 202, ok.text
    state = await poll(stack, change_id, "completed_with_deviations", "completed", "rolled_back")
    assert state.stage.value == "completed_with_deviations", state.outcome
    skipped = next(t for t in state.tasks if t.id == task_id)
    assert skipped.verified is False
    assert any("BRN QMS migrates next week" in d and "brn.prod" in d for d in state.deviations)
    events = await stack.audit_events(change_id)
    refusals = [e for e in events if e["action"] == "input.refused"]
    assert {e["actor"] for e in refusals} == {"ops.admin", "sc.ortiz", "det.prod", "brn.prod"}


async def test_a_failed_process_change_rolls_back_mes_exactly(stack: Stack) -> None:
    """Issue 7: a takt change that fails on its work instruction is rolled back to the exact
    prior MES state."""
    before = routing_footprint(stack.sim, "DET", "R-DET-500-100")
    body = yaml.safe_load(PROCESS.read_text())
    body["items"][0]["std_time_min"] = 2.9
    stack.sim.post(
        "/sim/faults",
        json={"path_contains": "/mes/DET/work-instructions/", "status": 409, "times": 1},
    )
    change_id = await stack.submit(body)
    await stack.approve_all(change_id)
    state = await poll(stack, change_id, "on_hold")
    response = await stack.api.post(
        f"/api/changes/{change_id}/resolve",
        json={"task_id": state.hold.task_id, "action": "rollback", "comment": "not this week"},
        headers=stack.auth("det.prod"),
    )
    assert response.status_code == 202, response.text
    await poll(stack, change_id, "rolled_back")
    assert routing_footprint(stack.sim, "DET", "R-DET-500-100") == before


async def test_a_failed_system_release_wave_rolls_back_both_plants(stack: Stack) -> None:
    """Issue 7: MES 11.3 to MTY (pilot) then DET fails at DET's cutover, and rollback leaves
    both plants' MES exactly as before."""
    body = yaml.safe_load(RELEASE.read_text())
    before = admin_footprint(stack.sim, ["MTY", "DET"])
    body.update(plants=["MTY", "DET"], rollout={"pilot_plant": "MTY"})
    body["items"] = [{"system": "MES", "version": "11.3"}]
    stack.sim.post("/sim/faults", json={"path_contains": "/mes/DET/admin/cutover", "status": 409})
    change_id = await stack.submit(body)
    await stack.approve_all(change_id)
    state = await poll(stack, change_id, "on_hold")
    assert state.hold.task_id == "DET.MES.cutover.11.3"
    assert stack.sim.get("/mes/MTY/admin/version").json()["version"] == "11.3"  # pilot went first
    response = await stack.api.post(
        f"/api/changes/{change_id}/resolve",
        json={"task_id": state.hold.task_id, "action": "rollback", "comment": "DET not ready"},
        headers=stack.auth("det.prod"),
    )
    assert response.status_code == 202, response.text
    await poll(stack, change_id, "rolled_back")
    assert admin_footprint(stack.sim, ["MTY", "DET"]) == before


async def test_a_failed_equipment_change_rolls_back_exactly(stack: Stack) -> None:
    """Issue 7: an equipment change that fails at the master data is undone."""
    body = yaml.safe_load(EQUIPMENT.read_text())
    before = mes_footprint(stack.sim, "DET")
    stack.sim.post(
        "/sim/faults", json={"path_contains": "/mes/DET/equipment/M-DET-01/master", "status": 409}
    )
    body["items"] = [{"plant": "DET", "equipment": "M-DET-01", "description": "new fixture"}]
    change_id = await stack.submit(body)
    await stack.approve_all(change_id)
    state = await poll(stack, change_id, "on_hold")
    assert state.hold.task_id == "DET.MES.M-DET-01.master"
    response = await stack.api.post(
        f"/api/changes/{change_id}/resolve",
        json={"task_id": state.hold.task_id, "action": "rollback", "comment": "fixture late"},
        headers=stack.auth("det.prod"),
    )
    assert response.status_code == 202, response.text
    await poll(stack, change_id, "rolled_back")
    assert mes_footprint(stack.sim, "DET") == before


async def test_a_temporal_cancellation_mid_rollout_leaves_every_plant_as_it_was(
    stack: Stack,
) -> None:
    """Defect 4: 'Request Cancellation' in the Web UI during rollout (with a write in flight)."""
    before = stack.sim.get("/sim/state").json()
    body = stack.part_change(BRACKET)
    change_id = await stack.submit(body)
    stack.sim.post(
        "/sim/faults",
        json={"path_contains": "/qms/MTY/inspection-plans", "delay_s": 2, "times": 1},
    )
    await stack.approve_all(change_id)
    await poll_state(
        stack,
        change_id,
        lambda s: any(
            t.plant == "MTY" and t.system.value == "QMS" and t.status.value == "running"
            for t in s.tasks
        ),
        waiting_for="MTY's QMS write in flight",
    )
    handle = stack.client.get_workflow_handle(change_id)
    await handle.cancel()  # what the Web UI's "Request Cancellation" sends
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    state = await poll(stack, change_id, "rolled_back", "cancelled", "completed")
    assert state.stage.value == "rolled_back", state.outcome
    assert "temporal" in state.outcome
    after = stack.sim.get("/sim/state").json()
    assert part_footprint(after, BRACKET) == part_footprint(before, BRACKET)
    assert part_footprint(before, BRACKET)["PLM"] == [body["items"][0]["from_revision"]]
    events = await stack.audit_events(change_id)
    actions = [e["action"] for e in events]
    assert "change.cancel_requested" in actions and actions[-1] == "stage.rolled_back"
    assert actions.count("task.compensated") == actions.count("task.applied")
