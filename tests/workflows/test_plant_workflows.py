"""Issue 7, waves: each plant of a wave rolls out as its own child workflow `{change_id}.{PLANT}`;
the change shows each plant's progress, and a plant workflow cancelled or terminated in Temporal
puts the change on hold instead of losing what it applied. On the dev server (the time-skipping
server does not tell a parent that its child was terminated), with fake systems."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from domain.change.stages import ChangeStage
from domain.messages import ResolveAction
from tests.support.changes import (
    actions,
    approve_all,
    record_history,
    resolve,
    start,
)
from tests.support.helpers import at_stage, start_dev_server, wait_for
from workflows.change.workflow import ChangeWorkflow


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_dev_server()
    yield environment
    await environment.shutdown()


async def started(fakes, task_id: str) -> None:
    for _ in range(400):
        if task_id in fakes.started:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{task_id} never started")


async def test_each_plant_is_a_child_workflow_and_the_pilot_ends_before_the_rest(harness) -> None:
    client, queue, fakes = harness
    handle = await start(client, queue, rollout={"pilot_plant": "MTY"})
    await approve_all(handle)
    assert (await handle.result()).stage == ChangeStage.completed
    state = await handle.query(ChangeWorkflow.state)
    plants = {t.plant for t in state.tasks if t.plant}
    children = {}
    for plant in plants:
        child = await client.get_workflow_handle(f"{handle.id}.{plant}").describe()
        assert child.status == WorkflowExecutionStatus.COMPLETED
        assert child.parent_id == handle.id and child.workflow_type == "PlantRolloutWorkflow"
        children[plant] = child
    pilot = children.pop("MTY")
    assert all(pilot.close_time <= c.start_time for c in children.values())
    history = await handle.fetch_history()
    started_children = [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
        and e.start_child_workflow_execution_initiated_event_attributes.workflow_type.name
        == "PlantRolloutWorkflow"
    ]
    assert sorted(started_children) == sorted(f"{handle.id}.{p}" for p in plants)
    # progress costs the change no history (readers ask the plants), nor do audit writes
    kinds = {e.event_type for e in history.events}
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED not in kinds
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    assert "record_audit_batch" not in scheduled  # a local activity: a marker, no task
    # the plants' tasks are applied by their own workflows, audited once each, on the same chain
    applied = [a for a in fakes.audits if a.action == "task.applied"]
    assert sorted(a.detail["task_id"] for a in applied) == sorted(fakes.applied)
    assert len(fakes.applied) == len(set(fakes.applied))
    assert {a.chain_key for a in fakes.audits} == {next(iter(fakes.audits)).chain_key}
    assert all(p.done == p.total for p in state.plant_progress)


async def test_the_change_shows_each_plants_progress_while_a_wave_runs(harness) -> None:
    client, queue, fakes = harness
    blocked = "DET.MES.wi.WI-DET-500-100-10"
    fakes.blocked.add(blocked)
    handle = await start(client, queue, rollout={"pilot_plant": "MTY"})
    await approve_all(handle)
    await started(fakes, blocked)

    def det_partly_done(state) -> bool:
        det = next(p for p in state.plant_progress if p.plant == "DET")
        return det.done > 0

    state = await wait_for(handle, det_partly_done)
    assert state.wave == 2 and state.stage == ChangeStage.rolling_out
    progress = {p.plant: p for p in state.plant_progress}
    assert progress["MTY"].pilot and progress["MTY"].done == progress["MTY"].total
    assert progress["MTY"].verified == progress["MTY"].total  # read back before DET started
    assert 0 < progress["DET"].done < progress["DET"].total
    fakes.gate.set()
    assert (await handle.result()).stage == ChangeStage.completed


async def test_a_plant_workflow_cancelled_in_temporal_holds_the_change_then_retry_finishes(
    harness,
) -> None:
    client, queue, fakes = harness
    blocked = "DET.ERP.mbom.100-200"  # what follows it in DET must wait
    fakes.blocked.add(blocked)
    handle = await start(client, queue, rollout={"pilot_plant": "MTY"})
    await approve_all(handle)
    await started(fakes, blocked)
    await client.get_workflow_handle(f"{handle.id}.DET").cancel()
    await asyncio.sleep(0.3)
    fakes.gate.set()  # the write in flight finishes: it stands, and nothing after it runs
    state = await wait_for(handle, at_stage(ChangeStage.on_hold))
    assert state.hold.plant == "DET" and "cancelled in Temporal" in state.hold.error
    det = {t.id: t for t in state.tasks if t.plant == "DET"}
    assert det[blocked].status == "done"
    assert not [t for t in fakes.applied if t.startswith("DET.") and t != blocked]
    await resolve(handle, ResolveAction.retry)
    assert (await handle.result()).stage == ChangeStage.completed
    assert len(fakes.applied) == len(set(fakes.applied))  # nothing applied twice
    assert "task.retry" in actions(fakes)


async def test_a_terminated_plant_workflow_holds_the_change_and_a_retry_finishes_it(
    harness,
) -> None:
    """Terminating loses what a plant workflow had in flight: the change holds on the first
    task it did not report, and a retry re-applies from there (the systems' idempotency keys
    make a write that did land a replay)."""
    client, queue, fakes = harness
    blocked = "DET.QMS.plan.IP-DET-100-200"
    fakes.blocked.add(blocked)
    handle = await start(client, queue, rollout={"pilot_plant": "MTY"})
    await approve_all(handle)
    await started(fakes, blocked)
    await client.get_workflow_handle(f"{handle.id}.DET").terminate(reason="test")
    state = await wait_for(handle, at_stage(ChangeStage.on_hold))
    assert state.hold.plant == "DET" and "ended before finishing" in state.hold.error
    done = {t.id for t in state.tasks if t.status == "done"}
    assert "DET.ERP.mbom.100-200" in done  # recorded as applied before it was terminated
    fakes.gate.set()
    await resolve(handle, ResolveAction.retry)
    assert (await handle.result()).stage == ChangeStage.completed
    state = await handle.query(ChangeWorkflow.state)
    assert all(t.status == "done" for t in state.tasks)


async def test_a_plant_terminated_while_the_audit_store_was_down_is_undone_by_a_rollback(
    harness,
) -> None:
    """Its `task.applied` never reached the store (the plant was terminated while it waited the
    outage out): the change still takes the write as applied (the ended plant is asked what it
    held), so a rollback undoes it instead of leaving it in ERP."""
    client, queue, fakes = harness
    written, blocked = "DET.ERP.mbom.100-200", "DET.QMS.plan.IP-DET-100-200"
    fakes.audit_lost.add(written)
    fakes.blocked.add(blocked)
    handle = await start(client, queue, rollout={"pilot_plant": "MTY"})
    await approve_all(handle)
    await started(fakes, blocked)
    assert written in fakes.applied
    await client.get_workflow_handle(f"{handle.id}.DET").terminate(reason="test")
    state = await wait_for(handle, at_stage(ChangeStage.on_hold))
    assert written not in {a.detail.get("task_id") for a in fakes.audits}  # the trail lacks it
    assert {t.id: t.status for t in state.tasks}[written] == "done"
    fakes.gate.set()
    await resolve(handle, ResolveAction.rollback)
    assert (await handle.result()).stage == ChangeStage.rolled_back
    assert written in fakes.compensated
    await record_history(handle, "change-terminated-plant-rollback")
