"""Issue 6 through the HTTP API on the shared stack: what an attacker and an operator tried, each
now refused or handled: a reused change id (through the API or straight in Temporal), racing
decisions, a retried POST, a wedged change. Forged decisions are refused by the workflow itself
(tests/workflows/test_change_workflow.py); hostile input and reads without a token are in
test_api_contract; a cancellation in Temporal mid-rollout in test_holds_and_rollbacks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from domain.messages import ChangeInput
from tests.support.data import bracket_request
from tests.support.e2e_stack import PASSWORD, SHAFT, Stack, poll
from workflows.change.workflow import ChangeWorkflow


async def test_a_change_id_is_never_reused(stack: Stack) -> None:
    """Defect 2: re-submitting a finished change's id, through the API or straight in Temporal."""
    change_id = f"ECO-{uuid.uuid4().hex[:6]}"
    body = stack.part_change(SHAFT, change_id=change_id)
    await stack.submit(body)
    await poll(stack, change_id, "awaiting_approval")
    assert (await stack.cancel(change_id)).status_code == 202
    await poll(stack, change_id, "cancelled")
    before = await stack.audit_events(change_id)

    again = await stack.api.post("/api/changes", json=body, headers=stack.auth("maria.engineer"))
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
    after = await stack.audit_events(change_id)
    assert after == before  # the first change's chain is untouched and still verifies


async def test_concurrent_decisions_one_wins_the_other_is_refused_and_audited(
    stack: Stack,
) -> None:
    """Defect 6: two quality approvers at once; no 202 for a decision that is dropped."""
    change_id = await stack.submit(stack.part_change(SHAFT))
    await poll(stack, change_id, "awaiting_approval")
    url = f"/api/changes/{change_id}/approvals"
    responses = await asyncio.gather(
        stack.api.post(
            url,
            json={
                "password": PASSWORD,
                "decision": "reject",
                "role": "quality",
                "comment": "torque spec missing",
            },
            headers=stack.auth("qa.lee"),
        ),
        stack.api.post(
            url,
            json={"password": PASSWORD, "decision": "approve", "role": "quality"},
            headers=stack.auth("qa.park"),
        ),
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [202, 409], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 202).json()
    loser = next(r for r in responses if r.status_code == 409).json()
    events = await stack.audit_events(change_id)
    decided = [e for e in events if e["action"] in ("approval.approve", "approval.reject")]
    refused = [e for e in events if e["action"] == "input.refused"]
    assert len(decided) == 1 and decided[0]["detail"]["approval_id"] == winner["input_id"]
    if "already rejected" in loser["detail"]:  # it came after the rejection closed the change
        assert decided[0]["action"] == "approval.reject" and refused == []
    else:  # the change refused it, and its audit trail says why
        assert "already given" in loser["detail"] or "not awaiting approval" in loser["detail"]
        assert len(refused) == 1 and refused[0]["detail"]["reason"] == loser["detail"]
    await stack.cancel(change_id)  # still awaiting the other approvals if the approval won


async def test_a_retried_post_with_the_same_idempotency_key_is_one_decision(stack: Stack) -> None:
    change_id = await stack.submit(stack.part_change(SHAFT))
    await poll(stack, change_id, "awaiting_approval")
    url = f"/api/changes/{change_id}/approvals"
    headers = {**stack.auth("eng.kim"), "Idempotency-Key": "kim-approves-once"}
    first = await stack.api.post(
        url,
        json={"password": PASSWORD, "decision": "approve", "role": "engineering"},
        headers=headers,
    )
    second = await stack.api.post(
        url,
        json={"password": PASSWORD, "decision": "approve", "role": "engineering"},
        headers=headers,
    )
    assert first.status_code == second.status_code == 202
    assert first.json()["input_id"] == second.json()["input_id"] == "kim-approves-once"
    events = await stack.audit_events(change_id)
    assert [e["action"] for e in events].count("approval.approve") == 1
    await stack.cancel(change_id)


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
        cancelled = await stack.cancel(change_id, user="ops.admin")
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
    events = await stack.audit_events(change_id)
    assert [e["action"] for e in events] == ["change.cancel_requested", "change.terminated"]
