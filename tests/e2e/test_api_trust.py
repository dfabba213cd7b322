"""Issue 6 through the HTTP API on the dev server: what an attacker, an operator and a new user
tried, each now refused or handled (forged decisions, reused ids, wedged changes, racing
decisions, hostile input, reads without a token)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from domain.approvals.decisions import Decision
from domain.lifecycle.state import ChangeState
from domain.messages import ChangeInput
from tests.support.data import bracket_request
from tests.support.e2e_stack import APPROVERS, Stack, example_body, poll, running_stack
from tests.support.helpers import decision_for
from workflows.change.workflow import ChangeWorkflow

SHAFT = [{"part": "100-210", "from_revision": "A", "to_revision": "B"}]


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("trust")) as running:
        yield running


async def audit_actions(stack: Stack, change_id: str) -> list[dict]:
    response = await stack.api.get(f"/api/changes/{change_id}/audit")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verification"]["intact"], body["verification"]
    return body["events"]


async def test_a_forged_signal_is_refused_and_audited(stack: Stack) -> None:
    """Defect 1: `temporal workflow signal --name decide` with any approver's name."""
    change_id = await stack.submit(example_body(items=SHAFT))
    state = await poll(stack, change_id, "awaiting_approval")
    handle = stack.client.get_workflow_handle(change_id)
    for required in state.approvals.required:
        await handle.signal("decide", decision_for(required, "eng.kim"))
    state = await poll_until(
        stack, change_id, lambda s: len(s.refused) == len(s.approvals.required)
    )
    assert state.approvals.received == [] and state.stage.value == "awaiting_approval"
    for _ in range(50):  # audit events reach the store in batches, just after the state
        events = await audit_actions(stack, change_id)
        refused = [e for e in events if e["action"] == "input.refused"]
        if len(refused) == len(state.approvals.required):
            break
        await asyncio.sleep(0.1)
    assert len(refused) == len(state.approvals.required)
    assert {e["actor"] for e in refused} == {"unverified"}
    assert all(e["detail"]["claimed_by"] == "eng.kim" for e in refused)
    assert not [e for e in events if e["action"].startswith("approval.")]
    await cancel(stack, change_id)


async def poll_until(stack: Stack, change_id: str, predicate, timeout: float = 30) -> ChangeState:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = ChangeState.model_validate(
            (await stack.api.get(f"/api/changes/{change_id}")).json()
        )
        if predicate(state):
            return state
        assert asyncio.get_running_loop().time() < deadline, state
        await asyncio.sleep(0.2)


async def cancel(stack: Stack, change_id: str, user: str = "maria.engineer") -> httpx.Response:
    return await stack.api.post(
        f"/api/changes/{change_id}/cancel", json={"reason": "test over"}, headers=stack.auth(user)
    )


async def test_a_change_id_is_never_reused(stack: Stack) -> None:
    """Defect 2: re-submitting a finished change's id, through the API or straight in Temporal."""
    change_id = f"ECO-{uuid.uuid4().hex[:6]}"
    await stack.submit(example_body(change_id=change_id, items=SHAFT))
    await poll(stack, change_id, "awaiting_approval")
    assert (await cancel(stack, change_id)).status_code == 202
    await poll(stack, change_id, "cancelled")
    before = await audit_actions(stack, change_id)

    again = await stack.api.post(
        "/api/changes",
        json=example_body(change_id=change_id, items=SHAFT),
        headers=stack.auth("maria.engineer"),
    )
    assert again.status_code == 409, again.text
    assert "never reused" in again.json()["detail"]

    # someone with Temporal access starts a second run under the id, bypassing the API
    handle = await stack.client.start_workflow(
        ChangeWorkflow.run,
        ChangeInput(change_id=change_id, request=bracket_request(), submitted_by="mallory"),
        id=change_id,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        task_queue=stack.settings.task_queue,
    )
    outcome = await handle.result()
    assert outcome.stage.value == "rejected" and "never reused" in outcome.outcome
    after = await audit_actions(stack, change_id)
    assert after == before  # the first change's chain is untouched and still verifies


async def test_concurrent_decisions_one_wins_the_other_is_refused_and_audited(
    stack: Stack,
) -> None:
    """Defect 6: two quality approvers at once; no 202 for a decision that is dropped."""
    change_id = await stack.submit(example_body(items=SHAFT))
    await poll(stack, change_id, "awaiting_approval")
    url = f"/api/changes/{change_id}/approvals"
    responses = await asyncio.gather(
        stack.api.post(
            url,
            json={"decision": "reject", "role": "quality", "comment": "torque spec missing"},
            headers=stack.auth("qa.lee"),
        ),
        stack.api.post(
            url, json={"decision": "approve", "role": "quality"}, headers=stack.auth("qa.park")
        ),
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [202, 409], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 202).json()
    loser = next(r for r in responses if r.status_code == 409).json()
    events = await audit_actions(stack, change_id)
    decided = [e for e in events if e["action"] in ("approval.approve", "approval.reject")]
    refused = [e for e in events if e["action"] == "input.refused"]
    assert len(decided) == 1 and decided[0]["detail"]["approval_id"] == winner["input_id"]
    if "already rejected" in loser["detail"]:  # it came after the rejection closed the change
        assert decided[0]["action"] == "approval.reject" and refused == []
    else:  # the change refused it, and its audit trail says why
        assert "already given" in loser["detail"] or "not awaiting approval" in loser["detail"]
        assert len(refused) == 1 and refused[0]["detail"]["reason"] == loser["detail"]


async def test_a_retried_post_with_the_same_idempotency_key_is_one_decision(stack: Stack) -> None:
    change_id = await stack.submit(example_body(items=SHAFT))
    await poll(stack, change_id, "awaiting_approval")
    url = f"/api/changes/{change_id}/approvals"
    headers = {**stack.auth("eng.kim"), "Idempotency-Key": "kim-approves-once"}
    first = await stack.api.post(
        url, json={"decision": "approve", "role": "engineering"}, headers=headers
    )
    second = await stack.api.post(
        url, json={"decision": "approve", "role": "engineering"}, headers=headers
    )
    assert first.status_code == second.status_code == 202
    assert first.json()["input_id"] == second.json()["input_id"] == "kim-approves-once"
    events = await audit_actions(stack, change_id)
    assert [e["action"] for e in events].count("approval.approve") == 1
    await cancel(stack, change_id)


async def test_skip_rules_and_deviations_through_the_api(stack: Stack) -> None:
    """Defect 5: only the task's plant (or admin/engineering) skips, with a comment; the change
    ends completed_with_deviations and says what is inconsistent."""
    change_id = await stack.submit(example_body(items=SHAFT))
    stack.sim.post(
        "/sim/faults",
        json={"path_contains": "/qms/BRN/inspection-plans", "status": 409, "times": 1},
    )
    await stack.approve_all(change_id, APPROVERS)
    state = await poll(stack, change_id, "on_hold")
    task_id = state.hold.task_id
    url = f"/api/changes/{change_id}/resolve"
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
    events = await audit_actions(stack, change_id)
    refusals = [e for e in events if e["action"] == "input.refused"]
    assert {e["actor"] for e in refusals} == {"det.prod", "brn.prod"}


@workflow.defn(name="ChangeWorkflow")
class WedgedChangeWorkflow:
    """Stands in for a change whose workflow task fails on every attempt (a bug in workflow
    code): it raises a TypeError, which fails the task, not the workflow."""

    @workflow.run
    async def run(self, inp: ChangeInput) -> None:
        raise TypeError("can't subtract offset-naive and offset-aware datetimes")


async def test_a_wedged_change_answers_503_and_can_be_cancelled_or_terminated(
    stack: Stack,
) -> None:
    """Defect 3: GET, status and cancel answered 500 and nobody could stop it."""
    queue = f"wedged-{uuid.uuid4().hex[:6]}"
    change_id = f"WEDGED-{uuid.uuid4().hex[:6]}"
    async with Worker(
        stack.client,
        task_queue=queue,
        workflows=[WedgedChangeWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await stack.client.start_workflow(
            "ChangeWorkflow",
            ChangeInput(change_id=change_id, request=bracket_request(), submitted_by="x"),
            id=change_id,
            task_queue=queue,
            task_timeout=timedelta(seconds=2),
        )
        await asyncio.sleep(1.0)
        got = await stack.api.get(f"/api/changes/{change_id}")
        assert got.status_code == 503, got.text
        assert "cannot answer" in got.json()["detail"] and "terminate" in got.json()["detail"]
        cancelled = await cancel(stack, change_id, user="ops.admin")
        assert cancelled.status_code == 202, cancelled.text
        assert "cancellation requested" in cancelled.json()["recorded"]
        not_admin = await stack.api.post(
            f"/api/changes/{change_id}/terminate",
            json={"reason": "stuck"},
            headers=stack.auth("maria.engineer"),
        )
        assert not_admin.status_code == 403
        terminated = await stack.api.post(
            f"/api/changes/{change_id}/terminate",
            json={"reason": "stuck on a naive date"},
            headers=stack.auth("ops.admin"),
        )
        assert terminated.status_code == 202, terminated.text
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    events = await audit_actions(stack, change_id)
    assert [e["action"] for e in events] == ["change.cancel_requested", "change.terminated"]


async def test_hostile_input_gets_4xx_never_5xx(stack: Stack) -> None:
    """Defect 9."""
    auth = {**stack.auth("maria.engineer"), "Content-Type": "application/json"}
    deep = ("[" * 10_000 + "]" * 10_000).encode()
    response = await stack.api.post("/api/changes", content=deep, headers=auth)
    assert response.status_code == 422, response.text[:300]
    huge = json.dumps(example_body(reason="x" * 3_000_000)).encode()
    response = await stack.api.post("/api/changes", content=huge, headers=auth)
    assert response.status_code == 413, response.text[:300]
    big = example_body(
        items=[dict(SHAFT[0], description="d" * 1_500_000)],
    )
    response = await stack.api.post("/api/changes", json=big, headers=stack.auth("maria.engineer"))
    assert response.status_code in (413, 422), response.text[:300]
    evil = example_body(
        items=[{"part": "../../sim/faults", "from_revision": "A", "to_revision": "B"}]
    )
    faults_before = (
        stack.sim.get("/sim/faults").json()
        if stack.sim.get("/sim/faults").status_code == 200
        else None
    )
    response = await stack.api.post("/api/changes", json=evil, headers=stack.auth("maria.engineer"))
    assert response.status_code == 422 and "part" in response.text
    if faults_before is not None:
        assert stack.sim.get("/sim/faults").json() == faults_before
    # ids of other workflow types are not changes, and changes are not syncs
    started = await stack.api.post(
        "/api/thread/sync", json={"mode": "incremental"}, headers=stack.auth("ops.admin")
    )
    sync_id = started.json()["workflow_id"]
    assert (await stack.api.get(f"/api/changes/{sync_id}")).status_code == 404
    assert (await stack.api.get(f"/api/changes/{sync_id}/audit")).status_code == 404
    decide = await stack.api.post(
        f"/api/changes/{sync_id}/approvals",
        json={"decision": "approve", "role": "engineering"},
        headers=stack.auth("eng.kim"),
    )
    assert decide.status_code == 404, decide.text
    change_id = await stack.submit(example_body())
    assert (await stack.api.get(f"/api/thread/sync/{change_id}")).status_code == 404
    await poll(stack, change_id, "awaiting_approval")
    await cancel(stack, change_id)


async def test_auditors_read_and_never_write_and_requesters_must_exist(stack: Stack) -> None:
    """Defects 10 and 12."""
    auditor = stack.auth("audit.ray")
    assert (await stack.api.get("/api/changes", headers=auditor)).status_code == 200
    for path, body in [
        ("/api/changes", example_body(items=SHAFT)),
        ("/api/changes/ANY-1/cancel", {"reason": "x"}),
        ("/api/changes/ANY-1/approvals", {"decision": "approve", "role": "quality"}),
        ("/api/thread/sync", {"mode": "full"}),
    ]:
        response = await stack.api.post(path, json=body, headers=auditor)
        assert response.status_code == 403, (path, response.text)
    unknown = await stack.api.post(
        "/api/changes",
        json=example_body(items=SHAFT, requested_by="nobody.known"),
        headers=stack.auth("maria.engineer"),
    )
    assert unknown.status_code == 422
    assert any("nobody.known is not a changeflow user" in line for line in unknown.json()["detail"])
    naive = await stack.api.post(
        "/api/changes",
        json=example_body(items=SHAFT, effectivity={"type": "date", "date": "2026-12-01T06:00:00"}),
        headers=stack.auth("maria.engineer"),
    )
    assert naive.status_code == 422 and "timezone" in naive.text
    assert Decision.approve  # the enum the API shares with the workflow


def footprint(sim_state: dict, part: str) -> dict[str, list]:
    """Everything the simulator holds about a part that a change of it writes to."""
    result: dict[str, list] = {
        "PLM": [p["current_revision"] for p in sim_state["PLM"]["parts"] if p["number"] == part]
    }
    for plant in ("DET", "MTY", "BRN"):
        systems = sim_state[plant]
        result[f"{plant}.ERP"] = sorted(
            (x["parent"], x["component_revision"])
            for x in systems["ERP"]["mbom_line"]
            if x["component"] == part
        )
        result[f"{plant}.QMS"] = sorted(
            (x["id"], x["revision"], x["part_revision"])
            for x in systems["QMS"]["inspection_plan"]
            if x["part"] == part
        )
        result[f"{plant}.ERP.supply"] = sorted(
            [
                (x["id"], x["revision"])
                for x in systems["ERP"]["purchase_order"]
                if x["part"] == part
            ]
            + [
                (x["location"], x.get("disposition", "-"))
                for x in systems["ERP"]["inventory"]
                if x["part"] == part
            ]
        )
        result[f"{plant}.MES"] = sorted(
            (wi["id"], wi["revision"], wi["status"], r["revision"])
            for wi in systems["MES"]["work_instruction"]
            for r in wi["parts"]
            if r["part"] == part
        )
    return result


async def test_a_temporal_cancellation_mid_rollout_leaves_every_plant_as_it_was(
    stack: Stack,
) -> None:
    """Defect 4: 'Request Cancellation' in the Web UI during rollout (with a write in flight)."""
    before = stack.sim.get("/sim/state").json()
    change_id = await stack.submit(example_body())
    stack.sim.post(
        "/sim/faults",
        json={"path_contains": "/qms/MTY/inspection-plans", "delay_s": 2, "times": 1},
    )
    await stack.approve_all(change_id, APPROVERS)
    await poll_until(
        stack,
        change_id,
        lambda s: any(
            t.plant == "MTY" and t.system.value == "QMS" and t.status.value == "running"
            for t in s.tasks
        ),
    )
    handle = stack.client.get_workflow_handle(change_id)
    await handle.cancel()  # what the Web UI's "Request Cancellation" sends
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    state = ChangeState.model_validate((await stack.api.get(f"/api/changes/{change_id}")).json())
    assert state.stage.value == "rolled_back", state.outcome
    assert "temporal" in state.outcome
    after = stack.sim.get("/sim/state").json()
    assert footprint(after, "100-200") == footprint(before, "100-200")
    assert footprint(before, "100-200")["PLM"] == ["B"]
    events = await audit_actions(stack, change_id)
    actions = [e["action"] for e in events]
    assert "change.cancel_requested" in actions and actions[-1] == "stage.rolled_back"
    assert actions.count("task.compensated") == actions.count("task.applied")
