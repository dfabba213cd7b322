"""ChangeState: everything a change's workflow knows, as the `state` query returns it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, computed_field

from domain.approvals.deadlines import Notice
from domain.approvals.decisions import ApprovalsState
from domain.change.request import ChangeRequest
from domain.change.stages import ChangeStage
from domain.impact.report import ImpactSummary
from domain.rollout.progress import PlantProgress, current_wave, plant_progress
from domain.rollout.tasks import RolloutTask
from domain.signatures.esign import revision_hash


class StageEntry(BaseModel):
    stage: ChangeStage
    at: datetime
    note: str = ""


class Hold(BaseModel):
    """A task failed after its retries: the change waits for a person (retry, skip, roll back)."""

    task_id: str
    error: str
    since: datetime
    hold_id: int = Field(default=0, description="Resolutions name the hold they answer.")
    plant: str | None = None


class ChangeState(BaseModel):
    change_id: str
    title: str
    type: str
    stage: ChangeStage
    requested_by: str
    submitted_by: str
    priority: str
    revision: int = Field(default=1, description="Bumped each time changes are requested.")
    request: ChangeRequest
    plants: list[str] = Field(default_factory=list)
    impact: ImpactSummary | None = None
    approvals: ApprovalsState = Field(default_factory=ApprovalsState)
    tasks: list[RolloutTask] = Field(default_factory=list)
    plan_hash: str | None = Field(default=None, description="What the approvers are shown.")
    impact_hash: str | None = Field(default=None, description="SHA-256 of the impact report.")
    pilot_plant: str | None = None
    plan_id: str | None = None
    wave_sizes: dict[int, int] = Field(default_factory=dict)
    task_counts: dict[str, int] = Field(
        default_factory=dict,
        description="A large plan's tasks by status (tasks stay in the store).",
    )
    rolling_out: list[str] = Field(
        default_factory=list,
        description="Plants whose workflows are applying tasks now (their progress: by query).",
    )
    hold: Hold | None = None
    history: list[StageEntry] = Field(default_factory=list)
    outcome: str = ""
    deviations: list[str] = Field(
        default_factory=list,
        description="What was skipped and what is inconsistent because of it.",
    )
    refused: list[str] = Field(
        default_factory=list,
        description="Human input the workflow refused (unsigned, forged, replayed), with why.",
    )
    alert: str = Field(default="", description="A problem the change is waiting out (retrying).")
    expires_at: datetime | None = Field(
        default=None, description="Still awaiting approval then, the change expires."
    )
    approved_at: datetime | None = Field(
        default=None, description="When the approvals needed before the rollout were in."
    )
    notifications: list[Notice] = Field(
        default_factory=list, description="Reminders, escalations and overdue notices sent."
    )

    @computed_field(
        description="Who submitted the change, and for whom when that is someone else: "
        "'submitted by X on behalf of Y'."
    )
    @property
    def submission(self) -> str:
        if self.submitted_by != self.requested_by:
            return f"submitted by {self.submitted_by} on behalf of {self.requested_by}"
        return f"submitted by {self.submitted_by}"

    @computed_field(description="The wave now rolling out: 0 central, 1 pilot, 2 the rest.")
    @property
    def wave(self) -> int | None:
        return current_wave(self.tasks)

    @computed_field(description="Each plant's tasks by status, in wave order.")
    @property
    def plant_progress(self) -> list[PlantProgress]:
        return plant_progress(self.tasks)

    @computed_field(
        description="SHA-256 of what approvers sign: this revision of the change, "
        "its impact report and its plan."
    )
    @property
    def revision_hash(self) -> str:
        return revision_hash(
            self.change_id, self.revision, self.request, self.impact_hash, self.plan_hash
        )
