"""Fake activities for workflow tests: the real (pure) assessment over the demo factory, and
connector writes, audit, sync and notifications recorded in memory with failures on demand."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.actions.registry import registered
from activities.assessment import summarize
from activities.plant_record import ended_plant_tasks
from connectors.sim.seed import build_demo_thread
from domain.approvals.policy import ApprovalPolicy, default_policy, evaluate
from domain.change.errors import ChangeRejectedError
from domain.messages import (
    AssessInput,
    AssessResult,
    AuditInput,
    BatchInput,
    BatchResult,
    FailedTask,
    NotifyInput,
    SyncFetched,
    SyncFetchGroup,
    SyncOutcome,
    SyncPlan,
    SyncRequest,
    TaskInput,
    TaskResult,
    VerifyResult,
    VerifyTasks,
)
from domain.rollout.plan import build_plan
from tests.support.data import assess_demo

SNAPSHOT = build_demo_thread()


@dataclass
class Fakes:
    applied: list[str] = field(default_factory=list)
    compensated: list[str] = field(default_factory=list)
    audits: list[AuditInput] = field(default_factory=list)
    fail_once: set[str] = field(default_factory=set)
    fail_always: set[str] = field(default_factory=set)
    verify_bad: set[str] = field(default_factory=set)
    verify_error: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    started: list[str] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    audit_outage: int = 0
    audit_lost: set[str] = field(default_factory=set)  # tasks whose task.applied never lands
    audit_attempts: int = 0
    sync_broken: bool = False
    syncs: int = 0
    look: SyncPlan | None = None  # what the look before a sync run finds (None: run one)
    awaited: SyncOutcome | None = None  # the outcome of the run under way waited for
    large: dict[int, int] = field(default_factory=dict)  # wave sizes of a large plan
    batch_failure: tuple[int, int] | None = None
    batches: Counter = field(default_factory=Counter)
    notices: list = field(default_factory=list)
    audit_batches: int = 0
    policy: ApprovalPolicy = field(default_factory=default_policy)

    def activities(self) -> list:
        @activity.defn(name="assess_impact")
        async def assess_impact(inp: AssessInput) -> AssessResult:
            try:
                report = assess_demo(inp.change_id, inp.request)
            except ChangeRejectedError as exc:  # as the real activity reports it
                raise ApplicationError(str(exc), type="InvalidChange", non_retryable=True) from exc
            plan = build_plan(inp.change_id, inp.revision, inp.request, report, registered())
            if self.large:  # a plan too large for history: it stays in the store
                return AssessResult(
                    impact=summarize(report, f"impact-{inp.change_id}-r{inp.revision}"),
                    required_approvals=evaluate(self.policy, inp.request, report),
                    tasks=[],
                    plan_hash="h" * 64,
                    pilot_plant="MTY",
                    plan_id=f"plan-{inp.change_id}",
                    wave_sizes=self.large,
                )
            return AssessResult(
                impact=summarize(report, f"impact-{inp.change_id}-r{inp.revision}"),
                required_approvals=evaluate(self.policy, inp.request, report),
                tasks=plan.tasks,
                plan_hash=plan.plan_hash,
                pilot_plant=plan.pilot_plant,
                expire_after_days=self.policy.expire_after_days,
            )

        @activity.defn(name="apply_task")
        async def apply_task(inp: TaskInput) -> TaskResult:
            task_id = inp.task.id
            self.started.append(task_id)
            if task_id in self.blocked:
                await self.gate.wait()
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

        @activity.defn(name="verify_tasks")
        async def verify_tasks(inp: VerifyTasks) -> list[VerifyResult]:
            results = []
            for task in inp.tasks:
                if task.id in self.verify_error:
                    detail = "could not read back: QMS read-back refused"
                    results.append(VerifyResult(task_id=task.id, ok=False, detail=detail))
                    continue
                ok = task.id not in self.verify_bad
                results.append(VerifyResult(task_id=task.id, ok=ok, detail="read back"))
            return results

        @activity.defn(name="notify")
        async def notify(inp: NotifyInput) -> bool:
            self.notices.append(inp.notice)
            return True

        def record_audit(record: AuditInput) -> None:
            self.audit_attempts += 1
            down = self.audit_outage > 0
            self.audit_outage -= down
            lost = record.action == "task.applied" and record.detail["task_id"] in self.audit_lost
            if down or lost:
                raise ApplicationError(
                    "database is locked", next_retry_delay=timedelta(milliseconds=20)
                )
            if record.event_key not in {a.event_key for a in self.audits}:
                self.audits.append(record)

        @activity.defn(name="record_audit_batch")
        async def record_audit_batch(records: list[AuditInput]) -> None:
            self.audit_batches += 1
            for record in records:
                record_audit(record)

        @activity.defn(name="applied_by")
        async def applied_by(change_id: str, workflow_id: str) -> list[dict]:
            return [
                {"task_id": a.detail["task_id"], "before": a.detail.get("before")}
                for a in self.audits
                if a.change_id == change_id
                and a.workflow_id == workflow_id
                and a.action == "task.applied"
            ]

        @activity.defn(name="thread_sync_look")
        async def sync_look(request: SyncRequest) -> SyncPlan | None:
            return self.look

        @activity.defn(name="thread_sync_await")
        async def sync_await(sync_id: str) -> SyncOutcome:
            if self.awaited is None:  # the store cannot say: waiting it out fails
                raise ApplicationError("store down", non_retryable=True)
            assert self.awaited.sync_id == sync_id
            return self.awaited

        @activity.defn(name="thread_sync_begin")
        async def sync_begin(request: SyncRequest) -> SyncPlan:
            if self.sync_broken:
                raise ApplicationError("PLM is down", non_retryable=True)
            return SyncPlan(sync_id="sync-test", sources=[])

        @activity.defn(name="thread_sync_fetch_group")
        async def sync_fetch_group(inp: SyncFetchGroup) -> list[SyncFetched]:
            return [SyncFetched(kind=s.kind, count=0) for s in inp.sources]

        @activity.defn(name="thread_sync_commit")
        async def sync_commit(sync_id: str) -> SyncOutcome:
            self.syncs += 1
            return SyncOutcome(sync_id=sync_id, status="committed", version=self.syncs)

        @activity.defn(name="thread_sync_fail")
        async def sync_fail(inp: SyncOutcome) -> SyncOutcome:
            return inp

        @activity.defn(name="apply_batch")
        async def apply_batch(inp: BatchInput) -> BatchResult:
            self.batches[inp.step] += 1
            if self.batch_failure == (inp.wave, inp.offset):
                task_id = f"DET.MES.wi.task-{inp.wave}-{inp.offset}"
                failed = FailedTask(task_id=task_id, error="MES refused", plant="DET")
                return BatchResult(done=0, failed=[failed])
            return BatchResult(done=min(inp.limit, self.large[inp.wave] - inp.offset))

        @activity.defn(name="verify_batch")
        async def verify_batch(inp: BatchInput) -> BatchResult:
            self.batches[inp.step] += 1
            return BatchResult(done=min(inp.limit, self.large[inp.wave] - inp.offset))

        @activity.defn(name="compensate_batch")
        async def compensate_batch(inp: BatchInput) -> BatchResult:
            self.batches[inp.step] += 1
            return BatchResult(done=min(inp.limit, self.large[inp.wave] - inp.offset))

        return [
            apply_batch,
            verify_batch,
            compensate_batch,
            assess_impact,
            apply_task,
            compensate_task,
            verify_tasks,
            sync_fetch_group,
            record_audit_batch,
            applied_by,
            ended_plant_tasks,
            notify,
            sync_begin,
            sync_look,
            sync_await,
            sync_commit,
            sync_fail,
        ]
