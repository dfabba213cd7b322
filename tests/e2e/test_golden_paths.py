"""One golden path per change type end to end on the shared stack (dev server, the simulator's
systems through the real connectors, workers, HTTP API): submitted and approved over HTTP, rolled
out, and proved by the simulator's ledger (every write applied exactly once) and by what each
system holds afterwards. The workflow's branching (holds, retries, rejections) is tested in
tests/workflows; holds and rollbacks through the real connectors in test_holds_and_rollbacks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml
from temporalio.testing import ActivityEnvironment

from activities.deps import ActivityDeps
from activities.rollout import RolloutActivities
from domain.messages import TaskInput
from tests.e2e.footprints import mes_footprint, routing_footprint
from tests.support.e2e_stack import BRACKET, Stack, poll

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROCESS = EXAMPLES / "process-change-takt.yaml"
RELEASE = EXAMPLES / "mes-release.yaml"
EQUIPMENT = EXAMPLES / "equipment-spindle.yaml"
ENDED = ("completed", "completed_with_deviations", "rolled_back", "on_hold", "rejected")


async def test_example_change_runs_to_completed_and_every_write_applies_once(stack: Stack) -> None:
    body = stack.part_change(BRACKET)  # the example: bracket 100-200 to its next revision
    to = body["items"][0]["to_revision"]
    response = await stack.api.post("/api/changes", json=body, headers=stack.auth("maria.engineer"))
    assert response.status_code == 201, response.text
    change_id = response.json()["change_id"]

    state = await poll(stack, change_id, "awaiting_approval")
    required = {(r.role.value, r.plant) for r in state.approvals.required}
    assert required == {
        ("engineering", None),
        ("quality", None),
        ("production", "DET"),
        ("production", "MTY"),
        ("supply_chain", None),
    }
    impact = (await stack.api.get(f"/api/changes/{change_id}/impact")).json()
    assert impact["plants"] == ["DET", "MTY"]
    assert {"ED-1000", "ED-2000"} <= {
        o["key"] for o in impact["objects"] if o["kind"] == "end_item"
    }

    # A transient outage of DET's ERP: Temporal retries the write; it still applies once.
    stack.sim.post(
        "/sim/faults",
        json={"path_contains": "/erp/DET/mbom/component-revision", "status": 503, "times": 2},
    )
    await stack.approve_all(change_id, comment="ok")

    state = await poll(stack, change_id, *ENDED)
    assert state.stage.value == "completed", state.outcome
    assert all(t.verified for t in state.tasks)

    ledger = stack.ledger(change_id)
    assert len(ledger) == len(state.tasks)
    keys = Counter(entry["idempotency_key"] for entry in ledger)
    assert max(keys.values()) == 1
    assert {e["idempotency_key"] for e in ledger} == {
        f"{change_id}:{t.id}:apply" for t in state.tasks
    }
    assert {e["plant"] for e in ledger} == {None, "DET", "MTY"}

    sim_state = stack.sim.get("/sim/state").json()
    bracket = next(p for p in sim_state["PLM"]["parts"] if p["number"] == BRACKET)
    assert bracket["current_revision"] == to
    for plant in ("DET", "MTY"):
        lines = [x for x in sim_state[plant]["ERP"]["mbom_line"] if x["component"] == BRACKET]
        assert lines and {x["component_revision"] for x in lines} == {to}
        plans = [x for x in sim_state[plant]["QMS"]["inspection_plan"] if x["part"] == BRACKET]
        assert plans and {x["part_revision"] for x in plans} == {to}
        refs = [
            r
            for wi in sim_state[plant]["MES"]["work_instruction"]
            for r in wi["parts"]
            if r["part"] == BRACKET
        ]
        assert refs and {r["revision"] for r in refs} == {to}
        orders = [x for x in sim_state[plant]["ERP"]["purchase_order"] if x["part"] == BRACKET]
        assert orders and {x["revision"] for x in orders} == {to}  # changed with the supplier
        stock = [x for x in sim_state[plant]["ERP"]["inventory"] if x["part"] == BRACKET]
        assert stock and all(x.get("disposition") for x in stock)
    assert not [x for x in sim_state["BRN"]["ERP"]["mbom_line"] if x["component"] == BRACKET]

    audit = (await stack.api.get(f"/api/changes/{change_id}/audit")).json()
    assert audit["verification"]["intact"] is True
    actions = [e["action"] for e in audit["events"]]
    assert actions[0] == "change.submitted" and actions[-1] == "stage.completed"
    assert actions.count("approval.approve") == 5

    # Re-running every rollout activity with the same keys changes nothing.
    deps = ActivityDeps.from_settings(stack.settings)
    rollout = RolloutActivities(deps)
    before = stack.sim.get("/sim/state").json()
    for task in state.tasks:
        result = await ActivityEnvironment().run(
            rollout.apply_task, TaskInput(change_id=change_id, task=task)
        )
        assert result.replayed is True
    await deps.connectors.aclose()
    assert stack.sim.get("/sim/state").json() == before
    assert stack.ledger(change_id) == ledger

    listed = (await stack.api.get("/api/changes", params={"limit": 1000})).json()
    assert change_id in {c["change_id"] for c in listed}


async def test_a_process_change_rolls_out(stack: Stack) -> None:
    """Issue 7 (first type beyond part revisions): the takt example runs to completed; a
    routing that does not exist is refused before anything starts."""
    before = routing_footprint(stack.sim, "DET", "R-DET-500-100")
    body = yaml.safe_load(PROCESS.read_text())
    change_id = await stack.submit(body)
    await stack.approve_all(change_id)
    state = await poll(stack, change_id, *ENDED)
    assert state.stage.value == "completed", state.outcome
    after = routing_footprint(stack.sim, "DET", "R-DET-500-100")
    op = next(o for o in after["routing"]["operations"] if o["op_no"] == 10)
    assert op["std_time_min"] == 3.2
    assert after["routing"]["revision"] == before["routing"].get("revision", 1) + 1
    ledger = stack.ledger(change_id)
    assert {e["action"] for e in ledger} == {
        "update_routing_operation",
        "reissue_work_instruction",
    }
    assert max(Counter(e["idempotency_key"] for e in ledger).values()) == 1
    bad = dict(body, items=[{"plant": "DET", "routing": "R-NOPE", "op_no": 10, "std_time_min": 2}])
    refused = await stack.api.post("/api/changes", json=bad, headers=stack.auth("maria.engineer"))
    assert refused.status_code == 422 and "R-NOPE" in refused.text


async def test_a_system_release_cuts_over(stack: Stack) -> None:
    """Issue 7: MES 11.2 in MTY runs to completed."""
    change_id = await stack.submit(yaml.safe_load(RELEASE.read_text()))
    await stack.approve_all(change_id)
    state = await poll(stack, change_id, *ENDED)
    assert state.stage.value == "completed", state.outcome
    version = stack.sim.get("/mes/MTY/admin/version").json()["version"]
    assert version == "11.2"


async def test_an_equipment_change_runs(stack: Stack) -> None:
    """Issue 7: the spindle example runs to completed (safety review, IQ/OQ/PQ, NC programs,
    master data, work instructions); equipment the MES does not know is refused."""
    body = yaml.safe_load(EQUIPMENT.read_text())
    change_id = await stack.submit(body)
    await stack.approve_all(change_id)
    state = await poll(stack, change_id, *ENDED)
    assert state.stage.value == "completed", state.outcome
    actions = {e["action"] for e in stack.ledger(change_id)}
    assert {
        "record_safety_review",
        "record_validation",
        "release_nc_program",
        "update_equipment_master",
        "reissue_work_instruction",
    } <= actions
    records = mes_footprint(stack.sim, "DET")["equipment_record"]
    assert {r["kind"] for r in records} == {"safety_review", "validation"}
    unknown = dict(body, items=[{"plant": "DET", "equipment": "M-NOPE"}])
    refused = await stack.api.post(
        "/api/changes", json=unknown, headers=stack.auth("maria.engineer")
    )
    assert refused.status_code == 422 and "M-NOPE" in refused.text
