"""Sending one event to a change's audit trail from workflow code, shared by the change and its
plant workflows: retried, and a store outage is waited out (shown as an alert), never turned
into a failed change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.messages import AuditInput

CHAIN_OWNED = "ChainOwned"
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
    non_retryable_error_types=[CHAIN_OWNED],
)
STORE_OUTAGE_PAUSE = timedelta(seconds=30)


async def send_audit(record: AuditInput, alert: Callable[[str], None]) -> bool:
    """Record the event; False if the chain belongs to another change (nothing written).
    While the store is down, `alert` is told why and the event is tried again."""
    while True:
        try:
            await asyncio.shield(
                workflow.start_activity(
                    "record_audit",
                    record,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=STORE_RETRY,
                    summary=f"Audit: {record.action}",
                )
            )
            return True
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == CHAIN_OWNED:
                return False
            alert(f"the audit store is unavailable ({cause or err}); retrying")
            await workflow.sleep(STORE_OUTAGE_PAUSE)
