"""Which activities run on which task queue: central (PLM, ERP, store) or a plant's (MES, QMS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.assessment import AssessmentActivities
from activities.audit import AnchorActivities, AuditActivities
from activities.batches import BatchActivities
from activities.deps import ActivityDeps
from activities.notify import NotifyActivities
from activities.plant_record import ended_plant_tasks
from activities.rollout import RolloutActivities
from activities.sync import SyncActivities


def central_activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    assessment, audit, rollout, sync, batches = (
        AssessmentActivities(deps),
        AuditActivities(deps),
        RolloutActivities(deps),
        SyncActivities(deps),
        BatchActivities(deps),
    )
    return [
        batches.apply_batch,
        batches.compensate_batch,
        batches.verify_batch,
        batches.mark,
        assessment.assess_impact,
        audit.record_audit_batch,
        audit.applied_by,
        ended_plant_tasks,
        AnchorActivities(deps).anchor_audit,
        NotifyActivities(deps).notify,
        rollout.apply_task,
        rollout.compensate_task,
        rollout.verify_tasks,
        sync.begin,
        sync.look,
        sync.await_run,
        sync.fetch_group,
        sync.commit,
        sync.fail,
    ]


def plant_activities(deps: ActivityDeps) -> list[Callable[..., Any]]:
    rollout, sync = RolloutActivities(deps), SyncActivities(deps)
    return [
        rollout.apply_task,
        rollout.compensate_task,
        rollout.verify_tasks,
        sync.fetch_group,
    ]
