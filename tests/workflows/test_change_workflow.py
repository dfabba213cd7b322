"""ChangeWorkflow on the time-skipping test server, with the activities replaced by fakes.

The fake assessment runs the real (pure) assessment over the demo factory, so the workflow sees
the approvals and the rollout plan the real system would produce.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError

from domain.approvals.decisions import Decision, Role
from domain.change.stages import ChangeStage
from domain.messages import (
    Revision,
    SyncOutcome,
    SyncPlan,
)
from domain.rollout.tasks import TaskStatus
from domain.signatures.signing import REVISION
from tests.support.changes import (
    actions,
    approve_all,
    cancel,
    decide,
    record_history,
    refusal_type,
    start,
    workflow_task_failures,
)
from tests.support.data import bracket_request
from tests.support.helpers import (
    at_stage,
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
