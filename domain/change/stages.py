"""The lifecycle stages of a change and which of them are final."""

from __future__ import annotations

from enum import StrEnum


class ChangeStage(StrEnum):
    submitted = "submitted"
    assessing = "assessing"
    awaiting_approval = "awaiting_approval"
    changes_requested = "changes_requested"  # waiting for the requester's revised change file
    scheduled = "scheduled"
    rolling_out = "rolling_out"
    verifying = "verifying"
    completed = "completed"
    completed_with_deviations = "completed_with_deviations"
    rejected = "rejected"
    cancelled = "cancelled"
    rolled_back = "rolled_back"
    on_hold = "on_hold"
    expired = "expired"  # left awaiting approval past the policy's limit


FINAL_STAGES: frozenset[ChangeStage] = frozenset(
    {
        ChangeStage.completed,
        ChangeStage.completed_with_deviations,
        ChangeStage.rejected,
        ChangeStage.cancelled,
        ChangeStage.rolled_back,
        ChangeStage.expired,
    }
)


def is_final(stage: ChangeStage) -> bool:
    """True when a change in this stage will not move again."""
    return stage in FINAL_STAGES
