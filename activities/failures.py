"""Turning connector failures into Temporal failures: rejections are not retried."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from connectors.errors import ConnectorError, RejectedConnectorError

REJECTED = "ConnectorRejected"
TRANSIENT = "ConnectorUnavailable"
COMPENSATION_MISMATCH = "CompensationMismatch"
"""The undo was written, but reading the system back shows something other than what it held
before the change (someone changed it meanwhile, or the undo write was lost): not retried; the
change holds for a person."""


def connector_failure(exc: ConnectorError) -> ApplicationError:
    if isinstance(exc, RejectedConnectorError):
        return ApplicationError(str(exc), type=REJECTED, non_retryable=True)
    return ApplicationError(str(exc), type=TRANSIENT)


def compensation_mismatch_message(task_id: str, detail: str) -> str:
    """What a compensation that does not read back says, e.g. "compensation of T1 not
    confirmed: ERP DET purchase order PO-1 shows 100-200 rev C, should show 100-200 rev B"."""
    return f"compensation of {task_id} not confirmed: {detail}"


def compensation_mismatch(task_id: str, detail: str) -> ApplicationError:
    return ApplicationError(
        compensation_mismatch_message(task_id, detail),
        type=COMPENSATION_MISMATCH,
        non_retryable=True,
    )
