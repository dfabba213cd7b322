"""Issue 7, large plans: a worker killed (SIGKILL) in the middle of a batch. The batch activity's
next attempt, on a new worker, resumes from the lost attempt's heartbeat and the store, and no
write reaches a system twice. A real worker process, the dev server and the simulator; the
plan counts as large from 5 tasks so that the demo change runs in batches."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType

from tests.e2e.conftest import LOOP
from tests.support.e2e_stack import Stack, example_body, poll, running_stack
from tests.support.helpers import eventually


@pytest_asyncio.fixture(scope="module", loop_scope=LOOP)
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """A stack of its own (not the shared one): a worker process to kill, and large plans."""
    tmp = tmp_path_factory.mktemp("kill")
    async with running_stack(tmp, worker_process=True, large_plan=5) as running:
        yield running


async def test_a_worker_killed_mid_batch_resumes_and_applies_every_key_once(stack: Stack) -> None:
    assert stack.worker is not None
    # DET is the second wave; its QMS answers slowly once, so the batch is mid-way there
    stack.sim.post(
        "/sim/faults",
        json={"path_contains": "/qms/DET/inspection-plans", "delay_s": 4, "times": 1},
    )
    change_id = await stack.submit(example_body(), user="maria.engineer")
    await stack.approve_all(change_id)
    state = await poll(stack, change_id, "rolling_out")
    assert state.tasks == [] and state.wave_sizes  # a large plan: the tasks stay in the store

    def det_mbom_written(entries: list[dict]) -> bool:
        keys = [e["idempotency_key"] for e in entries]
        return any(".DET.ERP.mbom." in k or ":DET.ERP.mbom." in k for k in keys)

    async def ledger() -> list[dict]:
        return stack.ledger(change_id)

    await eventually(ledger, det_mbom_written, timeout=60, failure=lambda _: "no DET batch")
    await asyncio.sleep(1.0)  # its ERP writes are done; the QMS write is in flight
    before_kill = {e["idempotency_key"] for e in stack.ledger(change_id)}
    stack.worker.kill()
    stack.worker.start()  # a new worker picks the batch up once its heartbeat times out

    final = await poll(stack, change_id, "completed", "rolled_back", "on_hold", timeout=120)
    assert final.stage.value == "completed", final.outcome
    entries = stack.ledger(change_id)
    counts = Counter(e["idempotency_key"] for e in entries)
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
    applied = {k for k in counts if k.endswith(":apply")}
    assert sum(final.wave_sizes.values()) == len(applied)
    assert before_kill <= applied
    assert final.task_counts["done"] == len(applied)

    # the batch of DET's wave ran twice: the lost attempt and the one that resumed it
    history = await stack.client.get_workflow_handle(change_id).fetch_history()
    scheduled = {}
    attempts = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = attrs.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = event.activity_task_started_event_attributes
            attempts[scheduled[attrs.scheduled_event_id]] = max(
                attempts.get(scheduled[attrs.scheduled_event_id], 0), attrs.attempt
            )
    assert attempts["apply_batch"] >= 2
    audit = (await stack.api.get(f"/api/changes/{change_id}/audit")).json()
    applied_events = [e for e in audit["events"] if e["action"] == "tasks.applied"]
    det = [e for e in applied_events if e["detail"]["wave"] == 2]
    assert det and det[-1]["detail"]["already"] >= 1  # resumed past what was done
    # the audit trail holds each occurrence once, the worker's death notwithstanding
    assert audit["verification"]["intact"]
    batches = [(e["detail"]["wave"], e["detail"]["offset"]) for e in applied_events]
    assert len(batches) == len(set(batches))
    stages = Counter(e["action"] for e in audit["events"] if e["action"].startswith("stage."))
    entered = Counter(f"stage.{h.stage.value}" for h in final.history[1:])  # after submitted
    assert stages == entered
