"""AuditAnchorWorkflow: the daily checkpoint of the audit trail (a Temporal Schedule starts it):
one activity signs every chain's head and verifies the store against the previous checkpoint.
Short-lived: pinned to the worker deployment version it started on (docs/upgrading.md)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import VersioningBehavior


@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class AuditAnchorWorkflow:
    @workflow.run
    async def run(self) -> dict:
        return await workflow.execute_activity(
            "anchor_audit",
            start_to_close_timeout=timedelta(minutes=30),
            summary="Checkpoint and verify the audit trail",
        )
