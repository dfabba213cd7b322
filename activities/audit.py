"""Audit activities: append a workflow step's events to the change's hash-chained audit trail
(one transaction per step), and checkpoint every chain's head."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import ActivityDeps
from domain.messages import AuditInput
from infra.audit_key import KEY_ENV, private_key, public_key
from infra.logs import get_logger
from store.audit.anchors import anchor, latest_anchor, verify_store
from store.audit.read import applied_by
from store.audit.trail import ChainOwnedError, NewEvent, append_event, append_events

AUDIT_CHAIN = "_audit"  # the audit trail's own chain: its checkpoints and checks
log = get_logger(component="audit")

CHAIN_OWNED = "ChainOwned"


class AuditActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps

    @activity.defn(name="record_audit_batch")
    async def record_audit_batch(self, records: list[AuditInput]) -> None:
        """The events of one workflow step, in order, in one transaction; each is recorded once
        by its key, so a retried batch writes only what the failed attempt did not. A run whose
        change id belongs to another change's chain is refused for good (CHAIN_OWNED)."""
        events = [NewEvent(**r.model_dump()) for r in records]
        try:
            await asyncio.to_thread(append_events, self.deps.engine, events)
        except ChainOwnedError as exc:
            raise ApplicationError(str(exc), type=CHAIN_OWNED, non_retryable=True) from exc

    @activity.defn(name="applied_by")
    async def applied_by(self, change_id: str, workflow_id: str) -> list[dict]:
        """The tasks a (plant) workflow of the change recorded as applied in the audit trail:
        what stands of a plant workflow that ended without its result."""
        return await asyncio.to_thread(applied_by, self.deps.engine, change_id, workflow_id)


class AnchorActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps

    @activity.defn(name="anchor_audit")
    async def anchor_audit(self) -> dict:
        """Checkpoint every chain's head (signed), verify the whole store against the previous
        checkpoint, and record the result in the audit trail's own chain."""
        return await asyncio.to_thread(self._anchor)

    def _anchor(self) -> dict:
        engine = self.deps.engine
        previous = latest_anchor(engine)
        check = verify_store(engine, public_key())
        key = private_key()
        row = anchor(engine, key) if key is not None else None
        result = {
            "intact": check.intact,
            "chains": check.chains,
            "records": check.records,
            "problems": check.problems + [p for b in check.broken for p in b.problems][:50],
            "checked_against_anchor": previous.id if previous else None,
            "anchor": row.id if row else None,
            "digest": row.digest if row else None,
            "signed": row is not None,
        }
        if row is None:
            result["problems"].append(f"no {KEY_ENV}: the heads were not checkpointed")
        append_event(
            engine,
            change_id=AUDIT_CHAIN,
            event_key=f"{AUDIT_CHAIN}:anchor:{row.id if row else datetime.now(UTC).isoformat()}",
            actor="changeflow",
            action="audit.anchored" if row else "audit.checked",
            detail=result,
        )
        log.info("audit anchored", **{k: v for k, v in result.items() if k != "problems"})
        return result
