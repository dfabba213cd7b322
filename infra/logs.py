"""structlog set-up: JSON lines bound to change id, workflow and activity; silent during replay."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog
from temporalio import activity, workflow


def _temporal_context(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Merge the running activity's or workflow's identity into the event."""
    if activity.in_activity():
        info = activity.info()
        event.setdefault("change_id", info.workflow_id)
        event.setdefault("activity", info.activity_type)
        event.setdefault("attempt", info.attempt)
    else:
        try:
            info = workflow.info()
        except Exception:  # noqa: BLE001  (not in a workflow)
            return event
        if workflow.unsafe.is_replaying():
            raise structlog.DropEvent
        event.setdefault("change_id", info.workflow_id)
        event.setdefault("workflow", info.workflow_type)
    return event


def configure_logging(level: str | None = None, *, json: bool | None = None) -> None:
    """JSON to stderr by default; CHANGEFLOW_LOG_LEVEL and CHANGEFLOW_LOG_FORMAT=console adjust."""
    level = (level or os.environ.get("CHANGEFLOW_LOG_LEVEL", "INFO")).upper()
    if json is None:
        json = os.environ.get("CHANGEFLOW_LOG_FORMAT", "json") != "console"
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _temporal_context,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(**bound: Any) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(**bound)
