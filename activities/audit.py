"""Audit activity: append one event to the change's hash-chained audit trail."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import ActivityDeps
from domain.messages import AuditInput
from store.audit import ChainOwnedError, append_event

CHAIN_OWNED = "ChainOwned"


class AuditActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps

    @activity.defn(name="record_audit")
    async def record_audit(self, inp: AuditInput) -> None:
        """Idempotent by event key: a retried activity records the event once. A run whose
        change id belongs to another change's chain is refused for good (CHAIN_OWNED)."""
        try:
            await asyncio.to_thread(
                append_event,
                self.deps.engine,
                change_id=inp.change_id,
                event_key=inp.event_key,
                actor=inp.actor,
                action=inp.action,
                detail=inp.detail,
                chain_key=inp.chain_key,
            )
        except ChainOwnedError as exc:
            raise ApplicationError(str(exc), type=CHAIN_OWNED, non_retryable=True) from exc
