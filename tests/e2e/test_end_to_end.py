"""The example change end to end on the dev server, with the real simulator, connectors, worker
and HTTP API; then the ledger proves every write was applied exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment

from activities.deps import ActivityDeps
from activities.rollout import RolloutActivities
from domain.messages import TaskInput
from store.db import get_engine
from store.thread.store import ThreadStore
from tests.support.e2e_stack import APPROVERS, Stack, example_body, poll, run_sync, running_stack

HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


async def test_a_fresh_thread_is_used_as_is_until_a_change_writes(stack: Stack) -> None:
    """Issue 9: a change assessed moments after a sync, with no write since, fetches nothing."""
    from store.audit.trail import append_event

    await run_sync(stack, "incremental")

    async def first_sync_event(change_id: str) -> str:
        await poll(stack, change_id, "awaiting_approval")
        events = (await stack.api.get(f"/api/changes/{change_id}/audit")).json()["events"]
        await stack.api.post(
            f"/api/changes/{change_id}/cancel",
            json={"reason": "test"},
            headers=stack.auth("maria.engineer"),
        )
        return next(e["action"] for e in events if e["action"].startswith("thread."))

    body = example_body(items=[{"part": "100-210", "from_revision": "A", "to_revision": "B"}])
    assert await first_sync_event(await stack.submit(body)) == "thread.fresh"
    # a change wrote to a system since that sync: the next assessment syncs first
    append_event(
        get_engine(stack.settings.db_url),
        change_id="OTHER-CHANGE",
        event_key="other:write",
        actor="changeflow",
        action="task.applied",
        detail={"task_id": "x"},
    )
    assert await first_sync_event(await stack.submit(body)) == "thread.synced"


async def test_changes_submitted_together_share_one_sync(stack: Stack) -> None:
    """Issue 9: changes that arrive together after a write wait for the sync one of them began
    (it began after the write, so it holds it) instead of each fetching every system."""
    from store.audit.trail import append_event

    append_event(
        get_engine(stack.settings.db_url),
        change_id="OTHER-CHANGE",
        event_key=f"other:write:{uuid.uuid4().hex[:6]}",
        actor="changeflow",
        action="task.applied",
        detail={"task_id": "x"},
    )
    body = example_body(items=[{"part": "100-210", "from_revision": "A", "to_revision": "B"}])
    ids = await asyncio.gather(*(stack.submit(body) for _ in range(4)))
    synced = []
    for change_id in ids:
        await poll(stack, change_id, "awaiting_approval")
        events = (await stack.api.get(f"/api/changes/{change_id}/audit")).json()["events"]
        synced.append(next(e for e in events if e["action"].startswith("thread.")))
        await stack.api.post(
            f"/api/changes/{change_id}/cancel",
            json={"reason": "test"},
            headers=stack.auth("maria.engineer"),
        )
    assert {e["action"] for e in synced} == {"thread.synced"}
    own = {e["detail"]["sync_id"] for e in synced if not e["detail"].get("joined")}
    joined = [e["detail"] for e in synced if e["detail"].get("joined")]
    assert own and joined, synced  # at least one ran a sync, and at least one waited for it
    assert all(d["sync_id"] in own and d["version"] for d in joined)
    if os.environ.get("CHANGEFLOW_RECORD_HISTORIES") == "1":  # for tests/workflows/test_replay.py
        # a change that found the run under way before starting its own sync workflow has none
        for name, joined_one in (("sync-own", False), ("sync-joined", True)):
            for i, e in enumerate(synced):
                if bool(e["detail"].get("joined")) != joined_one:
                    continue
                handle = stack.client.get_workflow_handle(f"{ids[i]}-sync-r1")
                with contextlib.suppress(RPCError):  # no sync workflow of its own
                    history = await handle.fetch_history()
                    (HISTORIES / f"{name}.json").write_text(history.to_json())
                    break


async def test_example_change_runs_to_completed_and_every_write_applies_once(stack: Stack) -> None:
    response = await stack.api.post(
        "/api/changes", json=example_body(), headers=stack.auth("maria.engineer")
    )
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
    approvers = {
        ("engineering", None): "eng.kim",
        ("quality", None): "qa.lee",
        ("production", "DET"): "det.prod",
        ("production", "MTY"): "mty.prod",
        ("supply_chain", None): "sc.ortiz",
    }
    for (role, plant), user in approvers.items():
        response = await stack.api.post(
            f"/api/changes/{change_id}/approvals",
            json={"decision": "approve", "role": role, "plant": plant, "comment": "ok"},
            headers=stack.auth(user),
        )
        assert response.status_code == 202, response.text

    state = await poll(stack, change_id, "completed", "rolled_back", "on_hold", "rejected")
    assert state.stage.value == "completed", state.outcome
    assert all(t.verified for t in state.tasks)

    ledger = stack.sim.get("/sim/ledger", params={"change_id": change_id}).json()
    assert len(ledger) == len(state.tasks)
    keys = Counter(entry["idempotency_key"] for entry in ledger)
    assert max(keys.values()) == 1
    assert {e["idempotency_key"] for e in ledger} == {
        f"{change_id}:{t.id}:apply" for t in state.tasks
    }
    assert {e["plant"] for e in ledger} == {None, "DET", "MTY"}

    sim_state = stack.sim.get("/sim/state").json()
    bracket = next(p for p in sim_state["PLM"]["parts"] if p["number"] == "100-200")
    assert bracket["current_revision"] == "C"
    for plant in ("DET", "MTY"):
        lines = [x for x in sim_state[plant]["ERP"]["mbom_line"] if x["component"] == "100-200"]
        assert lines and {x["component_revision"] for x in lines} == {"C"}
        plans = [x for x in sim_state[plant]["QMS"]["inspection_plan"] if x["part"] == "100-200"]
        assert plans and {x["part_revision"] for x in plans} == {"C"}
        refs = [
            r
            for wi in sim_state[plant]["MES"]["work_instruction"]
            for r in wi["parts"]
            if r["part"] == "100-200"
        ]
        assert refs and {r["revision"] for r in refs} == {"C"}
        orders = [x for x in sim_state[plant]["ERP"]["purchase_order"] if x["part"] == "100-200"]
        assert orders and {x["revision"] for x in orders} == {"C"}  # changed with the supplier
        stock = [x for x in sim_state[plant]["ERP"]["inventory"] if x["part"] == "100-200"]
        assert stock and all(x.get("disposition") for x in stock)
    assert not [x for x in sim_state["BRN"]["ERP"]["mbom_line"] if x["component"] == "100-200"]

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
    assert stack.sim.get("/sim/ledger", params={"change_id": change_id}).json() == ledger

    listed = (await stack.api.get("/api/changes")).json()
    assert change_id in {c["change_id"] for c in listed}


async def test_invalid_changes_get_422_and_start_nothing(stack: Stack) -> None:
    auth = stack.auth("maria.engineer")
    cases = {
        "title": example_body(title=None),
        "not known to PLM": example_body(
            items=[{"part": "999-999", "from_revision": "A", "to_revision": "B"}]
        ),
        "must come after": example_body(
            items=[{"part": "100-200", "from_revision": "B", "to_revision": "A"}]
        ),
        "is at revision A in PLM, not B": example_body(
            items=[{"part": "100-210", "from_revision": "B", "to_revision": "C"}]
        ),
        "revision A of part 100-210 already exists": example_body(
            items=[{"part": "100-210", "from_revision": "0", "to_revision": "A"}]
        ),
        "plant XYZ does not exist": example_body(plants=["XYZ"]),
        "effectivity": example_body(effectivity={"type": "date"}),
    }
    for expected, body in cases.items():
        change_id = f"BAD-{uuid.uuid4().hex[:6]}"
        body["change_id"] = change_id
        response = await stack.api.post("/api/changes", json=body, headers=auth)
        assert response.status_code == 422, (expected, response.text)
        assert any(expected in line for line in response.json()["detail"]), response.text
        assert (await stack.api.get(f"/api/changes/{change_id}")).status_code == 404
    response = await stack.api.post("/api/changes", content=b"{not json", headers=auth)
    assert response.status_code == 422


async def test_unknown_change_is_404_and_every_route_needs_a_token(stack: Stack) -> None:
    assert (await stack.api.get("/api/changes/NOPE-123")).status_code == 404
    assert (await stack.api.get("/api/changes/NOPE-123/impact")).status_code == 404
    assert (await stack.api.get("/api/changes/NOPE-123/audit")).status_code == 404
    response = await stack.api.post(
        "/api/changes/NOPE-123/approvals",
        json={"decision": "approve", "role": "engineering"},
        headers=stack.auth("eng.kim"),
    )
    assert response.status_code == 404
    async with httpx.AsyncClient(base_url=stack.api.base_url) as anonymous:
        for method, path in [
            ("POST", "/api/changes"),
            ("GET", "/api/changes"),
            ("GET", "/api/changes/NOPE-123"),
            ("GET", "/api/changes/NOPE-123/audit"),
            ("GET", "/api/thread"),
            ("GET", "/api/me"),
        ]:
            response = await anonymous.request(method, path, json=example_body())
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
        bad = {"Authorization": "Bearer nope"}
        assert (await anonymous.get("/api/changes", headers=bad)).status_code == 401


async def test_approval_checks_role_plant_and_requester(stack: Stack) -> None:
    response = await stack.api.post(
        "/api/changes",
        json=example_body(
            requested_by="eng.kim",
            items=[{"part": "100-210", "from_revision": "A", "to_revision": "B"}],
        ),
        headers=stack.auth("maria.engineer"),
    )
    change_id = response.json()["change_id"]
    await poll(stack, change_id, "awaiting_approval")
    url = f"/api/changes/{change_id}/approvals"
    wrong_role = await stack.api.post(
        url, json={"decision": "approve", "role": "quality"}, headers=stack.auth("eng.kim")
    )
    assert wrong_role.status_code == 403
    wrong_plant = await stack.api.post(
        url,
        json={"decision": "approve", "role": "production", "plant": "MTY"},
        headers=stack.auth("det.prod"),
    )
    assert wrong_plant.status_code == 403
    own = await stack.api.post(
        url, json={"decision": "approve", "role": "engineering"}, headers=stack.auth("eng.kim")
    )
    assert own.status_code == 403 and "requested this change" in own.json()["detail"]
    ok = await stack.api.post(
        url, json={"decision": "approve", "role": "quality"}, headers=stack.auth("qa.lee")
    )
    assert ok.status_code == 202
    await asyncio.sleep(0.5)
    again = await stack.api.post(
        url, json={"decision": "approve", "role": "quality"}, headers=stack.auth("qa.lee")
    )
    assert again.status_code == 409 and "already decided" in again.json()["detail"]
    other = await stack.api.post(
        url, json={"decision": "approve", "role": "quality"}, headers=stack.auth("qa.park")
    )
    assert other.status_code == 409 and "already given" in other.json()["detail"]
    cancel = await stack.api.post(
        f"/api/changes/{change_id}/cancel",
        json={"reason": "test"},
        headers=stack.auth("maria.engineer"),
    )
    assert cancel.status_code == 202
    state = await poll(stack, change_id, "cancelled")
    assert "maria.engineer" in state.outcome
    late = await stack.api.post(
        url, json={"decision": "approve", "role": "engineering"}, headers=stack.auth("qa.lee")
    )
    assert late.status_code in (403, 409)


async def test_task_on_hold_is_resolved_through_the_api(stack: Stack) -> None:
    body = example_body(items=[{"part": "100-210", "from_revision": "A", "to_revision": "B"}])
    change_id = (
        await stack.api.post("/api/changes", json=body, headers=stack.auth("maria.engineer"))
    ).json()["change_id"]
    state = await poll(stack, change_id, "awaiting_approval")
    # QMS in BRN rejects the first revision (a business rejection: no retry, the change holds)
    stack.sim.post(
        "/sim/faults",
        json={"path_contains": "/qms/BRN/inspection-plans", "status": 409, "times": 1},
    )
    users = {
        "engineering": "eng.kim",
        "quality": "qa.lee",
        "production": "brn.prod",
        "supply_chain": "sc.ortiz",
    }
    for required in state.approvals.required:
        response = await stack.api.post(
            f"/api/changes/{change_id}/approvals",
            json={"decision": "approve", "role": required.role.value, "plant": required.plant},
            headers=stack.auth(users[required.role.value]),
        )
        assert response.status_code == 202, response.text
    state = await poll(stack, change_id, "on_hold")
    assert state.hold.task_id == "BRN.QMS.plan.IP-BRN-100-210"
    url = f"/api/changes/{change_id}/resolve"
    wrong = await stack.api.post(
        url, json={"task_id": "nope", "action": "retry"}, headers=stack.auth("ops.admin")
    )
    assert wrong.status_code == 409
    forbidden = await stack.api.post(
        url, json={"task_id": state.hold.task_id, "action": "retry"}, headers=stack.auth("sc.ortiz")
    )
    assert forbidden.status_code == 403
    ok = await stack.api.post(
        url,
        json={"task_id": state.hold.task_id, "action": "retry", "comment": "QMS lock released"},
        headers=stack.auth("ops.admin"),
    )
    assert ok.status_code == 202
    state = await poll(stack, change_id, "completed", "rolled_back")
    assert state.stage.value == "completed", state.outcome
    events = (await stack.api.get(f"/api/changes/{change_id}/audit")).json()["events"]
    retry = next(e for e in events if e["action"] == "task.retry")
    assert retry["actor"] == "ops.admin" and retry["detail"]["comment"] == "QMS lock released"


async def test_thread_sync_full_incremental_and_refused_cycle(stack: Stack) -> None:
    store = ThreadStore(get_engine(stack.settings.db_url))
    full = await run_sync(stack, "full")
    assert full.status == "committed", full.error
    assert full.counts["thread_part"] >= 140 and full.counts["thread_nc_program"] > 0
    version = store.state().version

    # someone edits PLM directly: an incremental sync brings just that change in
    part = stack.sim.get("/plm/parts/310-001").json()
    part["name"] = "Input shaft, induction hardened"
    stack.sim.put("/sim/objects/PLM/part/310-001", json=part)
    incremental = await run_sync(stack, "incremental")
    assert incremental.status == "committed"
    assert incremental.counts.get("thread_part") == 1
    _, tables = store.load()
    names = dict(zip(tables["parts"]["number"], tables["parts"]["name"], strict=True))
    assert names["310-001"] == "Input shaft, induction hardened"

    # a cyclic BOM in PLM is refused, reported, and the thread stays as it was
    stack.sim.put(
        "/sim/objects/PLM/ebom_line/100-200|ED-1000",
        json={"parent": "100-200", "child": "ED-1000", "qty": 1, "find_no": 10},
    )
    refused = await run_sync(stack, "incremental")
    assert refused.status == "failed"
    assert "cycle" in refused.error and "100-200" in refused.error and "ED-1000" in refused.error
    assert store.state().version == version + 1
    assert store.report(refused.sync_id).status == "failed"
    _, after = store.load()
    assert after.counts() == tables.counts()

    # once PLM is corrected, the next sync goes through again
    stack.sim.delete("/sim/objects/PLM/ebom_line/100-200|ED-1000")
    assert (await run_sync(stack, "incremental")).status == "committed"


async def test_preview_thread_status_and_sync_through_the_api(stack: Stack) -> None:
    auth = stack.auth("maria.engineer")
    started = await stack.api.post(
        "/api/thread/sync", json={"mode": "incremental"}, headers=stack.auth("ops.admin")
    )
    assert started.status_code == 202
    workflow_id = started.json()["workflow_id"]
    for _ in range(100):
        status = (await stack.api.get(f"/api/thread/sync/{workflow_id}")).json()
        if status["status"] != "running":
            break
        await asyncio.sleep(0.2)
    assert status["outcome"]["status"] == "committed"
    thread = (await stack.api.get("/api/thread")).json()
    assert thread["version"] >= 1 and thread["counts"]["thread_part"] >= 140
    assert thread["recent_syncs"][0]["sync_id"] == status["outcome"]["sync_id"]

    process = {
        "title": "Faster bracket press",
        "type": "process_change",
        "requested_by": "me",
        "reason": "takt",
        "items": [{"plant": "DET", "routing": "R-DET-500-100", "op_no": 10, "std_time_min": 1.5}],
    }
    preview = await stack.api.post("/api/impact-preview", json=process, headers=auth)
    assert preview.status_code == 200, preview.text
    kinds = preview.json()["counts"]
    assert kinds["operation"] == 1 and kinds["work_instruction"] >= 1 and kinds["operator"] >= 1
    release = {
        "title": "MES 11.2",
        "type": "system_release",
        "requested_by": "me",
        "reason": "upgrade",
        "plants": ["MTY"],
        "items": [{"system": "MES", "version": "11.2"}],
    }
    preview = await stack.api.post("/api/impact-preview", json=release, headers=auth)
    assert preview.json()["plants"] == ["MTY"]
    unknown = dict(process, items=[{"plant": "DET", "routing": "R-NOPE", "op_no": 10}])
    bad = await stack.api.post("/api/impact-preview", json=unknown, headers=auth)
    assert bad.status_code == 422 and "R-NOPE" in bad.json()["detail"][0]
    lms = dict(release, items=[{"system": "LMS", "version": "4.0"}])
    refused = await stack.api.post("/api/changes", json=lms, headers=auth)
    assert refused.status_code == 422
    assert any("not rolled out yet" in line for line in refused.json()["detail"])
    assert (
        await stack.api.post("/api/thread/sync", json={"mode": "sideways"}, headers=auth)
    ).status_code == 422


def bracket_d(**overrides: object) -> dict:
    items = [{"part": "100-200", "from_revision": "C", "to_revision": "D"}]
    return example_body(items=items, **overrides)


async def test_plan_of_a_change_and_of_a_change_file(stack: Stack, monkeypatch, tmp_path) -> None:
    auth = stack.auth("maria.engineer")  # the first test took bracket 100-200 to rev C
    await run_sync(stack, "incremental")  # the thread as the systems hold it now
    preview = await stack.api.post("/api/plan-preview", json=bracket_d(), headers=auth)
    assert preview.status_code == 200, preview.text
    view = preview.json()
    assert view["pilot_plant"] == "MTY"
    assert [(w["wave"], w["plants"]) for w in view["waves"]] == [
        (0, []),
        (1, ["MTY"]),
        (2, ["DET"]),
    ]
    assert {t["status"] for t in view["tasks"]} == {"pending"}
    bad_pilot = await stack.api.post(
        "/api/plan-preview", json=bracket_d(rollout={"pilot_plant": "BRN"}), headers=auth
    )
    assert bad_pilot.status_code == 422 and "does not affect plant BRN" in bad_pilot.text
    refused = await stack.api.post(
        "/api/changes",
        json=bracket_d(change_id="PILOT-BRN", rollout={"pilot_plant": "BRN"}),
        headers=auth,
    )
    assert refused.status_code == 422 and "does not affect plant BRN" in refused.text
    assert (await stack.api.get("/api/changes/PILOT-BRN")).status_code == 404  # nothing started

    change_id = await stack.submit(bracket_d(change_id=f"PLAN-{uuid.uuid4().hex[:6]}"))
    await poll(stack, change_id, "awaiting_approval")
    plan = (await stack.api.get(f"/api/changes/{change_id}/plan", params={"limit": 2})).json()
    assert plan["plan_hash"] == view["plan_hash"]
    assert plan["total_tasks"] == view["total_tasks"] and len(plan["tasks"]) == 2

    from typer.testing import CliRunner

    from starter.cli.main import app

    monkeypatch.setenv("CHANGEFLOW_API_URL", str(stack.api.base_url))
    monkeypatch.setenv("CHANGEFLOW_TOKEN", stack.tokens["maria.engineer"])
    runner = CliRunner()
    shown = await asyncio.to_thread(runner.invoke, app, ["plan", change_id])
    assert shown.exit_code == 0, shown.output
    assert "wave 1" in shown.output and "pilot plant" in shown.output and "MTY" in shown.output
    file = tmp_path / "change.yaml"
    file.write_text(yaml.safe_dump(bracket_d()))
    previewed = await asyncio.to_thread(runner.invoke, app, ["plan", "--preview", str(file)])
    assert previewed.exit_code == 0 and "nothing was started" in previewed.output
    await stack.api.post(f"/api/changes/{change_id}/cancel", json={"reason": "done"}, headers=auth)


PROCESS = Path(__file__).resolve().parents[2] / "examples" / "process-change-takt.yaml"


def routing_footprint(sim: httpx.Client, plant: str, routing: str) -> dict:
    state = sim.get("/sim/state").json()[plant]["MES"]
    doc = next(r for r in state["routing"] if r["id"] == routing)
    wis = sorted((w["id"], w["revision"], w["status"]) for w in state["work_instruction"])
    return {"routing": doc, "work_instructions": wis}


async def test_a_process_change_rolls_out_and_a_failed_one_rolls_back_exactly(
    stack: Stack,
) -> None:
    """Issue 7 (first type beyond part revisions): the takt example runs to completed; a second
    one that fails on its work instruction is rolled back to the exact prior MES state."""
    before = routing_footprint(stack.sim, "DET", "R-DET-500-100")
    body = yaml.safe_load(PROCESS.read_text())
    change_id = await stack.submit(body)
    await stack.approve_all(change_id, APPROVERS)
    state = await poll(stack, change_id, "completed", "rolled_back", "on_hold")
    assert state.stage.value == "completed", state.outcome
    after = routing_footprint(stack.sim, "DET", "R-DET-500-100")
    op = next(o for o in after["routing"]["operations"] if o["op_no"] == 10)
    assert op["std_time_min"] == 3.2
    assert after["routing"]["revision"] == before["routing"].get("revision", 1) + 1
    ledger = stack.sim.get("/sim/ledger", params={"change_id": change_id}).json()
    assert {e["action"] for e in ledger} == {
        "update_routing_operation",
        "reissue_work_instruction",
    }
    assert max(Counter(e["idempotency_key"] for e in ledger).values()) == 1

    # the next takt change fails on its work instruction; rolled back, MES is as it was
    before = routing_footprint(stack.sim, "DET", "R-DET-500-100")
    body["items"][0]["std_time_min"] = 2.9
    stack.sim.post(
        "/sim/faults",
        json={"path_contains": "/mes/DET/work-instructions/", "status": 409, "times": 1},
    )
    change_id = await stack.submit(body)
    await stack.approve_all(change_id, APPROVERS)
    state = await poll(stack, change_id, "on_hold")
    response = await stack.api.post(
        f"/api/changes/{change_id}/resolve",
        json={"task_id": state.hold.task_id, "action": "rollback", "comment": "not this week"},
        headers=stack.auth("det.prod"),
    )
    assert response.status_code == 202, response.text
    await poll(stack, change_id, "rolled_back")
    assert routing_footprint(stack.sim, "DET", "R-DET-500-100") == before
    bad = dict(body, items=[{"plant": "DET", "routing": "R-NOPE", "op_no": 10, "std_time_min": 2}])
    refused = await stack.api.post("/api/changes", json=bad, headers=stack.auth("maria.engineer"))
    assert refused.status_code == 422 and "R-NOPE" in refused.text


RELEASE = Path(__file__).resolve().parents[2] / "examples" / "mes-release.yaml"


def admin_footprint(sim: httpx.Client, plants: list[str]) -> dict:
    state = sim.get("/sim/state").json()
    return {p: {k: state[p]["MES"][k] for k in ("system_version", "backup")} for p in plants}


async def test_a_system_release_cuts_over_plant_by_plant_and_a_failed_wave_rolls_back(
    stack: Stack,
) -> None:
    """Issue 7: MES 11.2 in MTY runs to completed; MES 11.3 to MTY (pilot) then DET fails at
    DET's cutover, and rollback leaves both plants' MES exactly as before."""
    body = yaml.safe_load(RELEASE.read_text())
    change_id = await stack.submit(body)
    await stack.approve_all(change_id, APPROVERS)
    state = await poll(stack, change_id, "completed", "rolled_back", "on_hold")
    assert state.stage.value == "completed", state.outcome
    version = stack.sim.get("/mes/MTY/admin/version").json()["version"]
    assert version == "11.2"

    before = admin_footprint(stack.sim, ["MTY", "DET"])
    body.update(plants=["MTY", "DET"], rollout={"pilot_plant": "MTY"})
    body["items"] = [{"system": "MES", "version": "11.3"}]
    stack.sim.post("/sim/faults", json={"path_contains": "/mes/DET/admin/cutover", "status": 409})
    change_id = await stack.submit(body)
    await stack.approve_all(change_id, APPROVERS)
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


EQUIPMENT = Path(__file__).resolve().parents[2] / "examples" / "equipment-spindle.yaml"


def mes_footprint(sim: httpx.Client, plant: str) -> dict:
    mes = sim.get("/sim/state").json()[plant]["MES"]
    kinds = ("equipment", "nc_program", "equipment_record", "work_instruction")
    return {k: sorted(mes[k], key=lambda d: d["id"]) for k in kinds}


async def test_an_equipment_change_runs_and_a_failed_one_rolls_back_exactly(stack: Stack) -> None:
    """Issue 7: the spindle example runs to completed (safety review, IQ/OQ/PQ, NC programs,
    master data, work instructions); the next one fails at the master data and is undone."""
    body = yaml.safe_load(EQUIPMENT.read_text())
    change_id = await stack.submit(body)
    await stack.approve_all(change_id, APPROVERS)
    state = await poll(stack, change_id, "completed", "rolled_back", "on_hold")
    assert state.stage.value == "completed", state.outcome
    actions = {
        e["action"] for e in stack.sim.get("/sim/ledger", params={"change_id": change_id}).json()
    }
    assert {
        "record_safety_review",
        "record_validation",
        "release_nc_program",
        "update_equipment_master",
        "reissue_work_instruction",
    } <= actions
    records = mes_footprint(stack.sim, "DET")["equipment_record"]
    assert {r["kind"] for r in records} == {"safety_review", "validation"}

    before = mes_footprint(stack.sim, "DET")
    stack.sim.post(
        "/sim/faults", json={"path_contains": "/mes/DET/equipment/M-DET-01/master", "status": 409}
    )
    body["items"] = [{"plant": "DET", "equipment": "M-DET-01", "description": "new fixture"}]
    change_id = await stack.submit(body)
    await stack.approve_all(change_id, APPROVERS)
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
    unknown = dict(body, items=[{"plant": "DET", "equipment": "M-NOPE"}])
    refused = await stack.api.post(
        "/api/changes", json=unknown, headers=stack.auth("maria.engineer")
    )
    assert refused.status_code == 422 and "M-NOPE" in refused.text
