"""ChangeWorkflow on the time-skipping test server, with the activities replaced by fakes.

The fake assessment runs the real (pure) assessment over the demo factory, so the workflow sees
the approvals and the rollout plan the real system would produce.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.assessment import summarize
from connectors.sim.seed import build_demo_thread
from domain.approvals import Decision, required_approvals
from domain.messages import (
    AssessInput,
    AssessResult,
    AuditInput,
    CancelRequest,
    ChangeInput,
    Resolution,
    ResolveAction,
    SyncFetch,
    SyncFetched,
    SyncOutcome,
    SyncPlan,
    SyncRequest,
    TaskInput,
    TaskResult,
    VerifyResult,
)
from domain.rollout import TaskStatus, plan_rollout
from domain.stages import ChangeStage
from tests.fixtures_data import assess_demo, bracket_request
from tests.helpers import at_stage, decision_for, start_time_skipping, wait_for
from workflows.change_workflow import ChangeWorkflow
from workflows.queues import plant_queue
from workflows.thread_sync import ThreadSyncWorkflow

PLANTS = ["DET", "MTY", "BRN"]
HISTORIES = Path(__file__).parent / "histories"


async def record_history(handle, name: str) -> None:
    """CHANGEFLOW_RECORD_HISTORIES=1 refreshes tests/histories/ for the replay test."""
    if os.environ.get("CHANGEFLOW_RECORD_HISTORIES") == "1":
        history = await handle.fetch_history()
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text(history.to_json())


SNAPSHOT = build_demo_thread()


@dataclass
class Fakes:
    applied: list[str] = field(default_factory=list)
    compensated: list[str] = field(default_factory=list)
    audits: list[AuditInput] = field(default_factory=list)
    fail_once: set[str] = field(default_factory=set)
    fail_always: set[str] = field(default_factory=set)
    verify_bad: set[str] = field(default_factory=set)
    syncs: int = 0

    def activities(self) -> list:
        @activity.defn(name="assess_impact")
        async def assess_impact(inp: AssessInput) -> AssessResult:
            report = assess_demo(inp.change_id, inp.request)
            return AssessResult(
                impact=summarize(report, f"impact-{inp.change_id}-r{inp.revision}"),
                required_approvals=required_approvals(inp.request, report),
                tasks=plan_rollout(inp.request, report),
            )

        @activity.defn(name="apply_task")
        async def apply_task(inp: TaskInput) -> TaskResult:
            task_id = inp.task.id
            if task_id in self.fail_always or task_id in self.fail_once:
                self.fail_once.discard(task_id)
                raise ApplicationError(
                    f"{task_id} rejected", type="ConnectorRejected", non_retryable=True
                )
            self.applied.append(task_id)
            return TaskResult(task_id=task_id, before={"revision": "1", "part_revision": "B"})

        @activity.defn(name="compensate_task")
        async def compensate_task(inp: TaskInput) -> TaskResult:
            self.compensated.append(inp.task.id)
            return TaskResult(task_id=inp.task.id)

        @activity.defn(name="verify_task")
        async def verify_task(inp: TaskInput) -> VerifyResult:
            ok = inp.task.id not in self.verify_bad
            return VerifyResult(task_id=inp.task.id, ok=ok, detail="read back")

        @activity.defn(name="record_audit")
        async def record_audit(inp: AuditInput) -> None:
            self.audits.append(inp)

        @activity.defn(name="thread_sync_begin")
        async def sync_begin(request: SyncRequest) -> SyncPlan:
            return SyncPlan(sync_id="sync-test", sources=[])

        @activity.defn(name="thread_sync_fetch")
        async def sync_fetch(inp: SyncFetch) -> SyncFetched:
            return SyncFetched(kind=inp.source.kind, count=0)

        @activity.defn(name="thread_sync_commit")
        async def sync_commit(sync_id: str) -> SyncOutcome:
            self.syncs += 1
            return SyncOutcome(sync_id=sync_id, status="committed", version=self.syncs)

        @activity.defn(name="thread_sync_fail")
        async def sync_fail(inp: SyncOutcome) -> SyncOutcome:
            return inp

        return [
            assess_impact,
            apply_task,
            compensate_task,
            verify_task,
            record_audit,
            sync_begin,
            sync_fetch,
            sync_commit,
            sync_fail,
        ]


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()


@pytest.fixture
async def harness(env: WorkflowEnvironment) -> AsyncIterator[tuple[Client, str, Fakes]]:
    fakes = Fakes()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    acts = fakes.activities()
    workers = [
        Worker(
            env.client,
            task_queue=queue,
            workflows=[ChangeWorkflow, ThreadSyncWorkflow],
            activities=acts,
        )
    ]
    workers += [
        Worker(env.client, task_queue=plant_queue(queue, p), activities=acts) for p in PLANTS
    ]
    for w in workers:
        await w.__aenter__()
    yield env.client, queue, fakes
    for w in workers:
        await w.__aexit__(None, None, None)


async def start(client: Client, queue: str, **overrides: object):
    change_id = f"ECO-{uuid.uuid4().hex[:8]}"
    request = bracket_request(**overrides)
    return await client.start_workflow(
        ChangeWorkflow.run,
        ChangeInput(change_id=change_id, request=request, submitted_by="maria.engineer"),
        id=change_id,
        task_queue=queue,
    )


async def approve_all(handle, approver_prefix: str = "approver") -> None:
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    for required in state.approvals.required:
        await handle.signal(
            ChangeWorkflow.decide,
            decision_for(required, f"{approver_prefix}.{required.role.value}"),
        )


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
    actions = [a.action for a in fakes.audits]
    await record_history(handle, "completed")
    assert actions.count("approval.approve") == 5
    assert actions.index("thread.synced") < actions.index("stage.awaiting_approval")
    assert fakes.syncs == 1
    assert actions.count("task.applied") == len(final.tasks)


async def test_rejection_ends_the_change_without_writes(harness) -> None:
    client, queue, fakes = harness
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    quality = next(r for r in state.approvals.required if r.role.value == "quality")
    await handle.signal(
        ChangeWorkflow.decide,
        decision_for(quality, "qa.lee", Decision.reject, comment="FAI plan missing"),
    )
    result = await handle.result()
    assert result.stage == ChangeStage.rejected
    assert "qa.lee" in result.outcome and "FAI plan missing" in result.outcome
    assert fakes.applied == []


async def test_duplicate_approval_signal_is_recorded_once(harness) -> None:
    client, queue, fakes = harness
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    engineering = state.approvals.required[0]
    decision = decision_for(engineering, "eng.kim", approval_id="appr-1")
    for _ in range(3):
        await handle.signal(ChangeWorkflow.decide, decision)
    state = await wait_for(handle, lambda s: len(s.approvals.received) == 1)
    await handle.signal(ChangeWorkflow.decide, decision)
    state = await handle.query(ChangeWorkflow.state)
    assert [d.approval_id for d in state.approvals.received] == ["appr-1"]
    assert [a.action for a in fakes.audits].count("approval.approve") == 1
    await handle.signal(ChangeWorkflow.cancel, CancelRequest(by="maria.engineer"))
    assert (await handle.result()).stage == ChangeStage.cancelled


async def test_requester_cannot_approve_and_unrequired_roles_do_not_count(harness) -> None:
    client, queue, _fakes = harness
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    engineering = state.approvals.required[0]
    await handle.signal(ChangeWorkflow.decide, decision_for(engineering, "maria.engineer"))
    from domain.approvals import RequiredApproval, Role

    await handle.signal(
        ChangeWorkflow.decide,
        decision_for(RequiredApproval(role=Role.production, plant="BRN"), "brn.boss"),
    )
    state = await wait_for(handle, lambda s: len(s.approvals.ignored) == 2)
    assert state.approvals.received == []
    assert "requested this change" in state.approvals.ignored[0]
    assert "no production (BRN) approval is required" in state.approvals.ignored[1]
    await handle.signal(ChangeWorkflow.cancel, CancelRequest(by="maria.engineer"))
    assert (await handle.result()).stage == ChangeStage.cancelled


async def test_failed_task_holds_then_retry_completes(harness) -> None:
    client, queue, fakes = harness
    fakes.fail_once.add("MTY.ERP.mbom.100-200")
    handle = await start(client, queue)
    await approve_all(handle)
    state = await wait_for(handle, at_stage(ChangeStage.on_hold))
    assert state.hold is not None and state.hold.task_id == "MTY.ERP.mbom.100-200"
    await handle.signal(
        ChangeWorkflow.resolve,
        Resolution(task_id=state.hold.task_id, action=ResolveAction.retry, by="ops"),
    )
    result = await handle.result()
    assert result.stage == ChangeStage.completed
    assert fakes.applied.count("MTY.ERP.mbom.100-200") == 1
    await record_history(handle, "hold_then_retry")


async def test_rollback_from_hold_undoes_done_tasks_in_reverse(harness) -> None:
    client, queue, fakes = harness
    fakes.fail_always.add("MTY.QMS.plan.IP-MTY-100-200")
    handle = await start(client, queue)
    await approve_all(handle)
    state = await wait_for(handle, at_stage(ChangeStage.on_hold))
    await handle.signal(
        ChangeWorkflow.resolve,
        Resolution(
            task_id=state.hold.task_id,
            action=ResolveAction.rollback,
            by="ops",
            comment="supplier tooling not ready",
        ),
    )
    result = await handle.result()
    assert result.stage == ChangeStage.rolled_back
    await record_history(handle, "hold_then_rollback")
    assert "supplier tooling not ready" in result.outcome
    assert sorted(fakes.compensated) == sorted(fakes.applied)
    assert fakes.compensated[-1] == "PLM.release.100-200"
    final = await handle.query(ChangeWorkflow.state)
    assert {t.status for t in final.tasks} <= {
        TaskStatus.compensated,
        TaskStatus.failed,
        TaskStatus.pending,
    }


async def test_verification_mismatch_rolls_back(harness) -> None:
    client, queue, fakes = harness
    fakes.verify_bad.add("DET.MES.wi.WI-DET-500-100-10")
    handle = await start(client, queue)
    await approve_all(handle)
    result = await handle.result()
    assert result.stage == ChangeStage.rolled_back
    assert "verification failed" in result.outcome
    assert len(fakes.compensated) == len(fakes.applied)


async def test_request_changes_reassesses_and_voids_earlier_approvals(harness) -> None:
    client, queue, _fakes = harness
    handle = await start(client, queue)
    state = await wait_for(handle, at_stage(ChangeStage.awaiting_approval))
    engineering, quality = state.approvals.required[0], state.approvals.required[1]
    await handle.signal(ChangeWorkflow.decide, decision_for(engineering, "eng.kim"))
    await handle.signal(
        ChangeWorkflow.decide, decision_for(quality, "qa.lee", Decision.request_changes)
    )
    state = await wait_for(
        handle, lambda s: s.revision == 2 and s.stage == ChangeStage.awaiting_approval
    )
    assert state.approvals.received == []
    await approve_all(handle)
    assert (await handle.result()).stage == ChangeStage.completed
