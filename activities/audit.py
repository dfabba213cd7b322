"""Audit activity: append one event to the change's hash-chained audit trail."""

from __future__ import annotations

from temporalio import activity

from activities.deps import ActivityDeps
from domain.messages import AuditInput
from store.audit import append_event


class AuditActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps

    @activity.defn(name="record_audit")
    async def record_audit(self, inp: AuditInput) -> None:
        """Idempotent by event key: a retried activity records the event once."""
        append_event(
            self.deps.engine,
            change_id=inp.change_id,
            event_key=inp.event_key,
            actor=inp.actor,
            action=inp.action,
            detail=inp.detail,
        )
