"""Sending events to a change's audit trail from workflow code, shared by the change and its
plant workflows. `AuditWriter` batches: the events of one workflow step go in one local activity
(a few ms in the worker that runs the workflow, recorded as one marker), in order, while the
workflow goes on; each is recorded once by its key. Retried, and a store outage is waited out
(shown as an alert), never turned into a failed change."""

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
MAX_BATCH = 100


async def send_audit_batch(records: list[AuditInput], alert: Callable[[str], None]) -> bool:
    """Record the events in order; False if the chain belongs to another change (nothing
    written). While the store is down, `alert` is told why and the batch is tried again."""
    summary = f"Audit: {', '.join(r.action for r in records)}"[:200]
    while True:
        try:
            await asyncio.shield(
                workflow.start_local_activity(
                    "record_audit_batch",
                    records,
                    start_to_close_timeout=timedelta(seconds=60),
                    retry_policy=STORE_RETRY,
                    summary=summary,
                )
            )
            return True
        except (ActivityError, ApplicationError) as err:  # a local one's: its error, unwrapped
            cause = err.cause if isinstance(err, ActivityError) else err
            if isinstance(cause, ApplicationError) and cause.type == CHAIN_OWNED:
                return False
            alert(f"the audit store is unavailable ({cause or err}); retrying")
            await workflow.sleep(STORE_OUTAGE_PAUSE)


class AuditWriter:
    """Buffers events and writes them in batches from a background task of the workflow; the
    workflow waits for it (`flushed`) only where it must: before it decides on the first write's
    outcome, and before it ends."""

    def __init__(self, alert: Callable[[str], None], cleared: Callable[[], None]) -> None:
        self._alert, self._cleared = alert, cleared
        self._buffer: list[AuditInput] = []
        self._running = False
        self.refused = False  # the chain belongs to another change: nothing more is written

    def add(self, record: AuditInput) -> None:
        if self.refused:
            return
        self._buffer.append(record)
        if not self._running:
            self._running = True
            asyncio.create_task(self._drain())  # deterministic: a workflow task

    async def _drain(self) -> None:
        try:
            while self._buffer and not self.refused:
                batch, self._buffer = self._buffer[:MAX_BATCH], self._buffer[MAX_BATCH:]
                if not await send_audit_batch(batch, self._alert):
                    self.refused, self._buffer = True, []
                    break
                self._cleared()
        finally:
            self._running = False

    async def flushed(self) -> None:
        await workflow.wait_condition(lambda: not self._buffer and not self._running)
