"""Inputs and outputs of the workflows, their handlers and their activities (small DTOs)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain.approvals.deadlines import Notice
from domain.approvals.decisions import RequiredApproval, Role
from domain.change.request import ChangeRequest
from domain.change.stages import ChangeStage
from domain.impact.report import ImpactSummary
from domain.rollout.tasks import RolloutTask
from domain.signatures.signing import Signature


class ChangeInput(BaseModel):
    change_id: str
    request: ChangeRequest
    submitted_by: str
    chain_key: str | None = Field(
        default=None,
        description="Owner key of the change's audit chain, reserved by the API with the id; "
        "a run whose key differs cannot write to the chain (ids are never reused).",
    )


class ChangeOutcome(BaseModel):
    change_id: str
    stage: ChangeStage
    outcome: str


class AssessInput(BaseModel):
    change_id: str
    request: ChangeRequest
    revision: int


class AssessResult(BaseModel):
    impact: ImpactSummary
    required_approvals: list[RequiredApproval]
    tasks: list[RolloutTask]
    plan_hash: str | None = None
    pilot_plant: str | None = None
    plan_id: str | None = Field(default=None, description="The stored plan (always).")
    wave_sizes: dict[int, int] = Field(
        default_factory=dict, description="Tasks per wave; `tasks` is empty for a large plan."
    )
    expire_after_days: float | None = Field(
        default=None, description="The policy's limit on awaiting approval (None: none)."
    )
    impact_hash: str | None = Field(default=None, description="SHA-256 of the impact report.")


class TaskInput(BaseModel):
    change_id: str
    task: RolloutTask


class VerifyTasks(BaseModel):
    """Read back several tasks of one queue (a plant's, or the central one) in one activity."""

    change_id: str
    tasks: list[RolloutTask]


class TaskResult(BaseModel):
    task_id: str
    replayed: bool = False
    before: dict[str, str] = Field(default_factory=dict)
    detail: str = ""


class VerifyResult(BaseModel):
    task_id: str
    ok: bool
    detail: str


class AuditInput(BaseModel):
    change_id: str
    event_key: str
    chain_key: str | None = None
    actor: str
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)
    workflow_id: str | None = None
    run_id: str | None = None


class ResolveAction(StrEnum):
    retry = "retry"
    skip = "skip"
    rollback = "rollback"


class Resolution(BaseModel):
    """A person's answer to a task on hold, signed by the API (`hold_id` binds it to one hold)."""

    task_id: str
    action: ResolveAction
    by: str
    comment: str = ""
    resolution_id: str = ""
    hold_id: int | None = None
    role: Role | None = None
    plant: str | None = None
    signature: Signature | None = None


class CancelRequest(BaseModel):
    """Cancel the change: what was applied is rolled back. Signed by the API; `by` is
    "temporal" when the cancellation was requested in Temporal itself (Web UI, CLI)."""

    by: str
    reason: str = ""
    cancel_id: str = ""
    role: Role | None = None
    signature: Signature | None = None


class Revision(BaseModel):
    """The requester's revised change file, after changes were requested. Signed by the API."""

    revision_id: str
    by: str
    role: Role | None = None
    request: ChangeRequest
    comment: str = ""
    signature: Signature | None = None


class InputReceipt(BaseModel):
    """What the workflow answers to an accepted decision, resolution or cancel."""

    input_id: str
    recorded: str
    stage: ChangeStage | None = None
    revision: int | None = None


class SyncRequest(BaseModel):
    mode: str = Field(default="incremental", pattern="^(full|incremental)$")
    before_assessment: bool = Field(
        default=False,
        description="A change's sync: a thread synced within `thread_fresh_seconds` is used as is.",
    )
    may_join: bool = Field(
        default=False,
        description="A change's sync may wait for a sync under way that began after the last "
        "write to a system (set by the workflows that can).",
    )


class SyncSource(BaseModel):
    """One collection of one system to fetch: (document kind, system, plant or None)."""

    kind: str
    system: str
    plant: str | None = None


class SyncPlan(BaseModel):
    sync_id: str
    since: datetime | None = None
    sources: list[SyncSource]
    fresh_age_s: float | None = Field(
        default=None, description="Set: the thread is fresh enough (synced this long ago)."
    )
    joined: bool = Field(
        default=False, description="sync_id is a run under way that this sync waits for."
    )


class SyncFetchGroup(BaseModel):
    """Every collection one queue reaches (the central systems, or one plant's), fetched in one
    activity."""

    sync_id: str
    sources: list[SyncSource]
    since: datetime | None = None


class SyncFetched(BaseModel):
    kind: str
    plant: str | None = None
    count: int


class SyncOutcome(BaseModel):
    sync_id: str
    mode: str = ""
    status: str
    version: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None
    joined: bool = False  # the outcome of another sync's run, waited for


class BatchInput(BaseModel):
    """One slice of a large plan's wave (in dependency order), by the stored plan's id."""

    change_id: str
    plan_id: str
    wave: int
    offset: int
    limit: int
    step: str = Field(default="apply", pattern="^(apply|compensate|verify)$")


class FailedTask(BaseModel):
    task_id: str
    error: str
    plant: str | None = None


class BatchResult(BaseModel):
    """What a batch did: counts, and the tasks that failed (apply stops at the first)."""

    done: int = 0
    already: int = Field(default=0, description="Done before (a retried or resumed batch).")
    failed: list[FailedTask] = Field(default_factory=list)


class TaskMark(BaseModel):
    """A person's answer for one task of a large plan: back to pending (retry) or skipped."""

    change_id: str
    task_id: str
    status: str = Field(pattern="^(pending|skipped)$")
    by: str = ""
    reason: str = ""


class PlantRolloutInput(BaseModel):
    """What a plant's child workflow (`{change_id}.{PLANT}`) runs: that plant's tasks of one
    wave, with their current statuses (a retry resends the plant with its done tasks)."""

    change_id: str
    plant: str
    wave: int
    chain_key: str
    tasks: list[RolloutTask]


class PlantRolloutResult(BaseModel):
    plant: str
    tasks: list[RolloutTask] = Field(description="The plant's tasks as they ended.")
    stopped: bool = Field(
        default=False, description="Stopped before its tasks were finished (asked or cancelled)."
    )


class NotifyInput(BaseModel):
    change_id: str
    notice: Notice
