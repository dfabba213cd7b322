"""Turning connector failures into Temporal failures: rejections are not retried."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from connectors.errors import ConnectorError, RejectedConnectorError

REJECTED = "ConnectorRejected"
TRANSIENT = "ConnectorUnavailable"


def connector_failure(exc: ConnectorError) -> ApplicationError:
    if isinstance(exc, RejectedConnectorError):
        return ApplicationError(str(exc), type=REJECTED, non_retryable=True)
    return ApplicationError(str(exc), type=TRANSIENT)
