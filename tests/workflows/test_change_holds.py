"""ChangeWorkflow when things go wrong (time-skipping server, fake activities): a failed task
holds for a person (retry, skip, roll back), verification that fails, cancellation from
Temporal, and the same for a large plan run in batches."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import CancelledError

from domain.approvals.decisions import Role
from domain.change.stages import ChangeStage
from domain.messages import (
    ResolveAction,
)
from domain.rollout.tasks import TaskStatus
from tests.support.changes import (
    actions,
    approve_all,
    record_history,
    refusal_type,
    resolve,
    start,
)
from tests.support.helpers import (
    at_stage,
    wait_for,
)
from workflows.change.workflow import ChangeWorkflow


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
