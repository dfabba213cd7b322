"""ChangeWorkflow's human input on the time-skipping server (fake activities): decisions
retried or refused before history, forged input refused and audited, who may cancel."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from domain.approvals.decisions import RequiredApproval, Role
from domain.change.stages import ChangeStage
from domain.messages import (
    CancelRequest,
)
from domain.signatures.signing import Keyring
from tests.support.changes import (
    actions,
    approve_all,
    cancel,
    decide,
    record_history,
    refusal_type,
    start,
)
from tests.support.helpers import (
    at_stage,
    decision_for,
    signed_decision,
    wait_for,
)
from workflows.change.workflow import ChangeWorkflow


async def test_a_retried_decision_is_recorded_once_and_a_reused_id_is_refused(harness) -> None:
    client, queue, fakes = harness
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    engineering, quality = state.approvals.required[0], state.approvals.required[1]
    decision = signed_decision(handle.id, engineering, "eng.kim", approval_id="appr-1")
    receipts = [
        await handle.execute_update(ChangeWorkflow.submit_decision, decision, id="appr-1")
        for _ in range(3)
    ]
    assert {r.input_id for r in receipts} == {"appr-1"}
    # the same approval id under another Update id (a replayed signed decision): refused
    replay = signed_decision(handle.id, quality, "qa.lee", approval_id="appr-1")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ChangeWorkflow.submit_decision, replay, id="other")
    assert refusal_type(refused.value) == "Conflict"
    state = await handle.query(ChangeWorkflow.state)
    assert [d.approval_id for d in state.approvals.received] == ["appr-1"]
    assert actions(fakes).count("approval.approve") == 1
    await cancel(handle)
    assert (await handle.result()).stage == ChangeStage.cancelled


async def test_decisions_that_do_not_count_are_refused_before_history(harness) -> None:
    client, queue, _fakes = harness
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    engineering = state.approvals.required[0]
    cases = {
        "Forbidden": dict(required=engineering, approver="maria.engineer"),
        "Conflict": dict(
            required=RequiredApproval(role=Role.production, plant="BRN"), approver="brn.boss"
        ),
    }
    for expected, case in cases.items():
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await decide(handle, case["required"], case["approver"])
        assert refusal_type(refused.value) == expected
    with pytest.raises(WorkflowUpdateFailedError) as stale:
        await decide(handle, engineering, "eng.kim", revision=2)
    assert "revision" in str(stale.value.cause)
    history = await handle.fetch_history()
    updates = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert updates == []  # refused by the validator: nothing entered history
    assert (await handle.query(ChangeWorkflow.state)).approvals.received == []
    await cancel(handle)
    assert (await handle.result()).stage == ChangeStage.cancelled


async def test_forged_input_is_refused_and_audited(harness) -> None:
    """Defect 1: a decision sent straight to Temporal (a signal, an unsigned Update, one signed
    with another key, or one signed for another change) never counts, and is audited."""
    client, queue, fakes = harness
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    engineering = state.approvals.required[0]
    await handle.signal("decide", decision_for(engineering, "eng.kim"))
    forgeries = [
        decision_for(engineering, "eng.kim").model_copy(
            update={"change_id": handle.id, "revision": 1}
        ),
        signed_decision(
            handle.id,
            engineering,
            "eng.kim",
            key=Keyring.from_secrets("an-attackers-own-key-0123456789").active,
        ),
        signed_decision("ECO-other", engineering, "eng.kim").model_copy(
            update={"change_id": handle.id}
        ),
    ]
    tampered = signed_decision(handle.id, engineering, "eng.kim")
    forgeries.append(tampered.model_copy(update={"approver": "ceo"}))
    for forged in forgeries:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ChangeWorkflow.submit_decision, forged, id=forged.approval_id
            )
        assert refusal_type(refused.value) == "Unsigned"
    state = await wait_for(handle, lambda s: len(s.refused) == 5)
    assert state.approvals.received == []
    refusals = [a for a in fakes.audits if a.action == "input.refused"]
    assert len(refusals) == 5
    assert {a.actor for a in refusals} == {"unverified"}
    assert refusals[0].detail["kind"] == "signal:decide"
    assert all(a.detail["claimed_by"] in ("eng.kim", "ceo") for a in refusals)
    # any other signal is refused the same way: the change accepts none
    await handle.signal("cancel", CancelRequest(by="maria.engineer"))
    state = await wait_for(handle, lambda s: len(s.refused) == 6)
    assert state.stage == ChangeStage.awaiting_approval
    await approve_all(handle)
    assert (await handle.result()).stage == ChangeStage.completed
    await record_history(handle, "change-forged-input")


async def test_cancel_through_the_update_needs_the_requester_or_admin(harness) -> None:
    client, queue, fakes = harness
    handle = await start(client, queue)
    await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await cancel(handle, by="qa.lee", role=Role.quality)
    assert refusal_type(refused.value) == "Forbidden"
    receipt = await cancel(handle, by="ops.admin", role=Role.admin)
    assert receipt.recorded == "cancel accepted"
    assert (await handle.result()).stage == ChangeStage.cancelled
    assert "change.cancel_requested" in actions(fakes)
