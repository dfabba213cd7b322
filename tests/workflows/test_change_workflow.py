"""ChangeWorkflow on the time-skipping test server, with the activities replaced by fakes.

The fake assessment runs the real (pure) assessment over the demo factory, so the workflow sees
the approvals and the rollout plan the real system would produce.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import CancelledError

from domain.approvals.decisions import Decision, RequiredApproval, Role
from domain.change.stages import ChangeStage
from domain.messages import (
    CancelRequest,
    ResolveAction,
    Revision,
    SyncOutcome,
    SyncPlan,
)
from domain.rollout.tasks import TaskStatus
from domain.signatures.signing import REVISION, Keyring
from tests.support.changes import (
    actions,
    approve_all,
    cancel,
    decide,
    record_history,
    refusal_type,
    resolve,
    start,
    workflow_task_failures,
)
from tests.support.data import bracket_request
from tests.support.helpers import (
    at_stage,
    decision_for,
    signed_decision,
    signed_input,
    wait_for,
)
from workflows.change.workflow import ChangeWorkflow


async def test_approved_change_rolls_out_in_dependency_order(harness) -> None:
    client, queue, fakes = harness
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    labels = [r.label() for r in state.approvals.required]
    assert labels == [
        "engineering",
        "quality",
        "production (DET)",
        "production (MTY)",
        "supply_chain",
    ]
    await approve_all(handle)
    result = await handle.result()
    assert result.stage == ChangeStage.completed
    final = await handle.query(ChangeWorkflow.state)
    assert all(t.status == TaskStatus.done and t.verified for t in final.tasks)
    order = {task_id: index for index, task_id in enumerate(fakes.applied)}
    for task in final.tasks:
        for dep in task.depends_on:
            assert order[dep] < order[task.id], f"{task.id} ran before {dep}"
    stages = [h.stage for h in final.history]
    assert stages == [
        ChangeStage.submitted,
        ChangeStage.assessing,
        ChangeStage.awaiting_approval,
        ChangeStage.scheduled,
        ChangeStage.rolling_out,
        ChangeStage.verifying,
        ChangeStage.completed,
    ]
    await record_history(handle, "change-completed")
    await record_history(client.get_workflow_handle(f"{handle.id}-sync-r1"), "sync-own")
    # the events of one step go to the store in one activity, in order, each once
    assert fakes.audit_batches < len(fakes.audits)
    assert len({a.event_key for a in fakes.audits}) == len(fakes.audits)
    await record_history(client.get_workflow_handle(f"{handle.id}.MTY"), "plant-completed")
    assert actions(fakes).count("approval.approve") == 5
    assert actions(fakes).index("thread.synced") < actions(fakes).index("stage.awaiting_approval")
    assert fakes.syncs == 1
    assert actions(fakes).count("task.applied") == len(final.tasks)
    assert all(a.chain_key for a in fakes.audits)
    assert len({a.chain_key for a in fakes.audits}) == 1
    received = final.approvals.received
    assert all(d.signature is not None and d.change_id == handle.id for d in received)


async def test_rejection_ends_the_change_without_writes(harness) -> None:
    client, queue, fakes = harness
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    quality = next(r for r in state.approvals.required if r.role.value == "quality")
    receipt = await decide(handle, quality, "qa.lee", decision=Decision.reject, comment="no FAI")
    assert receipt.recorded == "reject recorded"
    result = await handle.result()
    assert result.stage == ChangeStage.rejected
    assert "qa.lee" in result.outcome and "no FAI" in result.outcome
    assert fakes.applied == []
    await record_history(handle, "change-rejected")


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


async def test_failed_task_holds_then_retry_completes(harness) -> None:
    client, queue, fakes = harness
    fakes.fail_once.add("MTY.ERP.mbom.100-200")
    handle = await start(client, queue)
    await approve_all(handle)
    state = await wait_for(handle, at_stage(ChangeStage.on_hold))
    assert state.hold is not None and state.hold.task_id == "MTY.ERP.mbom.100-200"
    # production of another plant may not answer MTY's hold
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await resolve(handle, ResolveAction.retry, role=Role.production, plant="DET")
    assert refusal_type(refused.value) == "Forbidden"
    await resolve(handle, ResolveAction.retry, role=Role.production, plant="MTY", by="mty.prod")
    result = await handle.result()
    assert result.stage == ChangeStage.completed
    assert fakes.applied.count("MTY.ERP.mbom.100-200") == 1
    await record_history(handle, "change-hold-retry")


async def test_skip_needs_the_plant_and_a_comment_and_ends_with_deviations(harness) -> None:
    """Defect 5: a skipped task is not verified, and the change says what is inconsistent."""
    client, queue, fakes = harness
    fakes.fail_always.add("MTY.ERP.mbom.100-200")
    handle = await start(client, queue)
    await approve_all(handle)
    await wait_for(handle, at_stage(ChangeStage.on_hold))
    with pytest.raises(WorkflowUpdateFailedError) as no_comment:
        await resolve(handle, ResolveAction.skip, role=Role.production, plant="MTY")
    assert refusal_type(no_comment.value) == "InvalidInput"
    with pytest.raises(WorkflowUpdateFailedError) as other_plant:
        await resolve(
            handle, ResolveAction.skip, role=Role.production, plant="DET", comment="not mine"
        )
    assert refusal_type(other_plant.value) == "Forbidden"
    with pytest.raises(WorkflowUpdateFailedError) as quality:
        await resolve(handle, ResolveAction.skip, role=Role.quality, comment="no")
    assert refusal_type(quality.value) == "Forbidden"
    await resolve(
        handle,
        ResolveAction.skip,
        role=Role.production,
        plant="MTY",
        by="mty.prod",
        comment="MTY ERP frozen until month end",
    )
    result = await handle.result()
    assert result.stage == ChangeStage.completed_with_deviations
    state = await handle.query(ChangeWorkflow.state)
    skipped = next(t for t in state.tasks if t.id == "MTY.ERP.mbom.100-200")
    assert skipped.status == TaskStatus.skipped and skipped.verified is False
    assert len(state.deviations) == 1
    deviation = state.deviations[0]
    assert "mty.prod" in deviation and "MTY ERP frozen" in deviation
    assert "MTY.MES.wi.WI-MTY-500-100-10" in deviation  # applied on top of the skipped MBOM
    assert "MTY.ERP.mbom.100-200" in result.outcome
    verified = next(a for a in fakes.audits if a.action == "change.verified")
    assert verified.detail["not_verified"] == {"MTY.ERP.mbom.100-200": "skipped"}
    await record_history(handle, "change-hold-skip")


async def test_rollback_from_hold_undoes_done_tasks_in_reverse(harness) -> None:
    client, queue, fakes = harness
    fakes.fail_always.add("MTY.QMS.plan.IP-MTY-100-200")
    handle = await start(client, queue)
    await approve_all(handle)
    await wait_for(handle, at_stage(ChangeStage.on_hold))
    await resolve(handle, ResolveAction.rollback, comment="supplier tooling not ready")
    result = await handle.result()
    assert result.stage == ChangeStage.rolled_back
    await record_history(handle, "change-hold-rollback")
    assert "supplier tooling not ready" in result.outcome
    assert sorted(fakes.compensated) == sorted(fakes.applied)
    assert fakes.compensated[-1] == "PLM.release.100-200"
    final = await handle.query(ChangeWorkflow.state)
    assert {t.status for t in final.tasks} <= {
        TaskStatus.compensated,
        TaskStatus.failed,
        TaskStatus.pending,
    }


async def test_verification_mismatch_or_error_rolls_back(harness) -> None:
    client, queue, fakes = harness
    fakes.verify_bad.add("DET.MES.wi.WI-DET-500-100-10")
    fakes.verify_error.add("DET.QMS.plan.IP-DET-100-200")
    handle = await start(client, queue)
    await approve_all(handle)
    result = await handle.result()
    assert result.stage == ChangeStage.rolled_back
    assert "verification failed" in result.outcome
    assert "could not read back" in result.outcome  # defect 7: an error is a failed check
    assert len(fakes.compensated) == len(fakes.applied)


async def test_request_changes_reassesses_and_voids_earlier_approvals(harness) -> None:
    client, queue, _fakes = harness
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    engineering, quality = state.approvals.required[0], state.approvals.required[1]
    await decide(handle, engineering, "eng.kim")
    await decide(
        handle, quality, "qa.lee", decision=Decision.request_changes, comment="add torque spec"
    )
    state = await wait_for(handle, at_stage(ChangeStage.changes_requested))
    first_hash = state.revision_hash
    revised = state.request.model_copy(update={"reason": "field cracks; torque spec added"})

    async def send_revision(by: str, role: Role):
        revision = Revision(revision_id=uuid.uuid4().hex, by=by, role=role, request=revised)
        signed_revision = signed_input(handle.id, REVISION, revision)
        return await handle.execute_update(
            ChangeWorkflow.revise, signed_revision, id=revision.revision_id
        )

    with pytest.raises(WorkflowUpdateFailedError) as refused:  # only the requester (or admin)
        await send_revision("qa.lee", Role.quality)
    assert refusal_type(refused.value) == "Forbidden"
    await send_revision("maria.engineer", Role.analyst)
    state = await wait_for(
        handle, lambda s: s.revision == 2 and s.stage == ChangeStage.awaiting_approval
    )
    assert state.approvals.received == [] and state.request.reason.endswith("torque spec added")
    assert state.revision_hash != first_hash
    with pytest.raises(WorkflowUpdateFailedError):  # a decision for revision 1 is stale now
        await decide(handle, engineering, "eng.kim", revision=1)
    await approve_all(handle)
    assert (await handle.result()).stage == ChangeStage.completed
    await record_history(handle, "change-revised")


async def test_temporal_cancellation_mid_rollout_rolls_back_what_was_applied(harness) -> None:
    """Defect 4: 'Request Cancellation' in the Web UI during rollout undoes every write, the
    one in flight included, and the change ends rolled back, audited, Canceled in Temporal."""
    client, queue, fakes = harness
    fakes.blocked.add("MTY.ERP.mbom.100-200")
    handle = await start(client, queue)
    await approve_all(handle)
    for _ in range(400):
        if "MTY.ERP.mbom.100-200" in fakes.started:
            break
        await asyncio.sleep(0.05)
    await handle.cancel()
    await asyncio.sleep(0.5)
    fakes.gate.set()  # the write in flight finishes after the cancellation request
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, CancelledError)
    state = await handle.query(ChangeWorkflow.state)
    assert state.stage == ChangeStage.rolled_back
    assert "MTY.ERP.mbom.100-200" in fakes.applied
    assert sorted(fakes.compensated) == sorted(fakes.applied)
    assert fakes.compensated[-1] == "PLM.release.100-200"
    assert "cancel_requested" in " ".join(actions(fakes))
    requested = next(a for a in fakes.audits if a.action == "change.cancel_requested")
    assert requested.actor == "temporal"
    assert actions(fakes)[-1] == "stage.rolled_back"
    await record_history(handle, "change-cancelled-mid-rollout")


async def test_temporal_cancellation_before_rollout_cancels(harness) -> None:
    client, queue, fakes = harness
    handle = await start(client, queue)
    await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    state = await handle.query(ChangeWorkflow.state)
    assert state.stage == ChangeStage.cancelled and "temporal" in state.outcome
    assert fakes.applied == [] and fakes.compensated == []


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


async def test_store_outage_and_failed_sync_are_waited_out(env, harness) -> None:
    """Defect 7: audit writes keep trying (with an alert) and a failing thread sync falls back
    to the last good thread; neither fails a change."""
    client, queue, fakes = harness
    fakes.sync_broken = True
    fakes.audit_outage = 10**9  # down until further notice: the workflow waits it out
    handle = await start(client, queue)
    state = await wait_for(handle, lambda s: bool(s.alert))
    assert "audit store is unavailable" in state.alert
    attempts = fakes.audit_attempts
    assert attempts >= 5  # more than one activity's retries
    fakes.audit_outage = 0  # the store is back
    await env.sleep(timedelta(seconds=31))  # the pause between tries
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    assert state.alert == ""
    assert "thread.sync_failed" in actions(fakes)
    await approve_all(handle)
    assert (await handle.result()).stage == ChangeStage.completed
    assert fakes.audit_attempts > attempts
    assert await workflow_task_failures(handle) == []


EDGE_CASES: dict[str, dict] = {
    "longest title and reason": {"title": "T" * 200, "reason": "R" * 4000},
    "unicode text": {"title": "Halterung 100-200 — Rev C ✓", "reason": "Flanschdicke 3→4 mm"},
    "longest requester": {"requested_by": "r" * 64},
    "emergency": {"priority": "emergency"},
    "standard": {"priority": "standard"},
    "one plant": {"plants": ["MTY"]},
    "a plant the part is not used in": {"plants": ["BRN"]},
    "date in the past": {"effectivity": {"type": "date", "date": "2001-01-01T00:00:00Z"}},
    "date far ahead": {"effectivity": {"type": "date", "date": "2099-12-31T23:59:59+14:00"}},
    "serial": {"effectivity": {"type": "serial", "serial": "SN-000001"}},
    "lot": {"effectivity": {"type": "lot", "lot": "L-2026-47"}},
    "use up": {"effectivity": {"type": "use_up"}},
    "not interchangeable": {
        "items": [
            {"part": "100-200", "from_revision": "B", "to_revision": "C", "interchangeable": False}
        ]
    },
    "two parts": {
        "items": [
            {"part": "100-200", "from_revision": "B", "to_revision": "C"},
            {"part": "100-210", "from_revision": "A", "to_revision": "B", "description": "d" * 200},
        ]
    },
    "numeric revisions": {
        "items": [{"part": "100-200", "from_revision": "9", "to_revision": "10"}]
    },
    "unknown part": {"items": [{"part": "999-999", "from_revision": "A", "to_revision": "B"}]},
}


async def test_every_change_file_field_at_its_edges_never_fails_a_workflow_task(harness) -> None:
    """Defect 3: whatever a valid change file holds, the workflow reaches a business stage
    (awaiting approval, scheduled, rejected) and never fails a workflow task."""
    client, queue, _fakes = harness
    settled = {
        ChangeStage.awaiting_approval,
        ChangeStage.rejected,
        ChangeStage.scheduled,
        ChangeStage.completed,
    }
    for name, overrides in EDGE_CASES.items():
        handle = await start(client, queue, **overrides)
        state = await wait_for(handle, lambda s: s.stage in settled)
        if state.stage == ChangeStage.awaiting_approval:
            await approve_all(handle)
            state = await wait_for(
                handle, lambda s: s.stage in settled - {ChangeStage.awaiting_approval}
            )
        assert await workflow_task_failures(handle) == [], name
        if state.stage == ChangeStage.scheduled:  # a date ahead: waiting on a durable timer
            await cancel(handle)
            assert (await handle.result()).stage == ChangeStage.cancelled, name
        else:
            assert (await handle.result()).stage in settled, name


async def test_a_payload_that_cannot_be_decoded_fails_the_workflow_instead_of_wedging_it(
    harness,
) -> None:
    client, queue, _fakes = harness
    raw = bracket_request().model_dump(mode="json")
    raw["effectivity"] = {"type": "bogus"}
    handle = await client.start_workflow(
        "ChangeWorkflow",
        {"change_id": "ECO-bad", "request": raw, "submitted_by": "x"},
        id=f"ECO-bad-{uuid.uuid4().hex[:6]}",
        task_queue=queue,
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert await workflow_task_failures(handle) == []


async def test_the_pilot_plant_goes_first_and_is_read_back_before_any_other(harness) -> None:
    client, queue, fakes = harness
    handle = await start(client, queue, rollout={"pilot_plant": "MTY"})
    await approve_all(handle)
    assert (await handle.result()).stage == ChangeStage.completed
    state = await handle.query(ChangeWorkflow.state)
    assert state.pilot_plant == "MTY" and state.plan_hash
    plant_of = {t.id: t.plant for t in state.tasks}
    order = [plant_of[t] for t in fakes.applied]
    assert order[0] is None  # PLM first
    last_mty = max(i for i, p in enumerate(order) if p == "MTY")
    first_det = min(i for i, p in enumerate(order) if p == "DET")
    assert last_mty < first_det
    pilot = next(a for a in fakes.audits if a.action == "pilot.verified")
    assert pilot.detail["plant"] == "MTY" and pilot.detail["failures"] == []
    assert actions(fakes).index("pilot.verified") < min(
        i
        for i, a in enumerate(fakes.audits)
        if a.action == "task.applied" and a.detail["plant"] == "DET"
    )


async def test_a_pilot_that_does_not_verify_stops_the_change_before_other_plants(harness) -> None:
    client, queue, fakes = harness
    fakes.verify_bad.add("MTY.MES.wi.WI-MTY-500-100-10")
    handle = await start(client, queue, rollout={"pilot_plant": "MTY"})
    await approve_all(handle)
    result = await handle.result()
    assert result.stage == ChangeStage.rolled_back
    assert "pilot plant MTY did not verify" in result.outcome
    assert not [t for t in fakes.applied if t.startswith("DET.")]
    assert sorted(fakes.compensated) == sorted(fakes.applied)


async def test_a_5000_task_plan_runs_in_batches_with_a_small_history(harness) -> None:
    """Issue 7: a large plan never puts its tasks in history: one activity per batch of 100,
    wave by wave, the pilot read back first; under 2,000 events, no payload over 256 KiB."""
    client, queue, fakes = harness
    fakes.large = {0: 1, 1: 1000, 2: 3999}
    handle = await start(client, queue)
    await approve_all(handle)
    result = await handle.result()
    assert result.stage == ChangeStage.completed, result.outcome
    state = await handle.query(ChangeWorkflow.state)
    assert state.task_counts["done"] == 5000 and state.tasks == []
    assert fakes.batches["apply"] == 1 + 10 + 40
    assert fakes.batches["verify"] == 10 + 1 + 10 + 40  # the pilot first, then everything
    history = await handle.fetch_history()
    assert len(history.events) < 2000, len(history.events)
    largest = max(event.ByteSize() for event in history.events)
    assert largest < 256 * 1024, largest
    print(f"5000-task plan: {len(history.events)} events, largest {largest} bytes")


async def test_a_failed_task_in_a_large_plan_holds_and_rolls_back_in_batches(harness) -> None:
    client, queue, fakes = harness
    fakes.large = {0: 1, 1: 300, 2: 700}
    fakes.batch_failure = (2, 300)
    handle = await start(client, queue)
    await approve_all(handle)
    state = await wait_for(handle, at_stage(ChangeStage.on_hold))
    assert state.hold.task_id == "DET.MES.wi.task-2-300" and state.hold.plant == "DET"
    with pytest.raises(WorkflowUpdateFailedError):  # production of another plant may not
        await resolve(handle, ResolveAction.rollback, role=Role.production, plant="MTY")
    await resolve(handle, ResolveAction.rollback, role=Role.production, plant="DET", by="det.prod")
    result = await handle.result()
    assert result.stage == ChangeStage.rolled_back
    assert fakes.batches["compensate"] == 1 + 3 + 7  # every batch, last first
    await record_history(handle, "change-large-plan")


@pytest.mark.parametrize(
    ("found", "waited_for", "audited", "synced_alone"),
    [
        (SyncPlan(sync_id="-", sources=[], fresh_age_s=4.0), None, "thread.fresh", False),
        (
            SyncPlan(sync_id="sync-other", sources=[], joined=True),
            SyncOutcome(sync_id="sync-other", status="committed", version=9, joined=True),
            "thread.synced",
            False,
        ),
        (
            SyncPlan(sync_id="sync-other", sources=[], joined=True),
            SyncOutcome(sync_id="sync-other", status="failed", joined=True, error="PLM down"),
            "thread.synced",
            True,
        ),
        (SyncPlan(sync_id="sync-other", sources=[], joined=True), None, "thread.synced", True),
    ],
    ids=["fresh", "joined", "joined-run-failed", "wait-failed"],
)
async def test_a_change_starts_no_sync_workflow_when_the_thread_is_fresh_or_a_sync_is_under_way(
    harness, found, waited_for, audited, synced_alone
) -> None:
    """The look before a sync (a local activity): a fresh thread or another change's sync under
    way needs no ThreadSyncWorkflow; a run waited for that did not commit is followed by one of
    the change's own, and the audit trail says why."""
    client, queue, fakes = harness
    fakes.look, fakes.awaited = found, waited_for
    handle = await start(client, queue)
    await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    history = await handle.fetch_history()
    children = [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]
    assert children == (["ThreadSyncWorkflow"] if synced_alone else [])
    assert fakes.syncs == (1 if synced_alone else 0)
    record = next(a for a in fakes.audits if a.action == audited)
    if audited == "thread.fresh":
        assert "4 s ago" in record.detail["note"]
    elif synced_alone:
        assert "sync-other" in record.detail["note"]
        assert ("PLM down" if waited_for else "store down") in record.detail["note"]
        assert "joined" not in record.detail
    else:
        assert record.detail["joined"] and record.detail["version"] == 9
    await handle.cancel()
