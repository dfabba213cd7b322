"""Typed connector failures: transient ones are retried, rejections are not."""

from __future__ import annotations


class ConnectorError(Exception):
    """A call to a system of record failed."""

    def __init__(self, system: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system
        self.message = message
        self.status = status


class TransientConnectorError(ConnectorError):
    """Transport error, timeout, 5xx or 429: trying again may succeed."""


class RejectedConnectorError(ConnectorError):
    """A 4xx business rejection: trying again with the same request will not help."""


class NotFoundError(RejectedConnectorError):
    """The object does not exist in that system."""
