"""Starting one task's connector activity (apply, compensate, verify) from workflow code, on the
queue that reaches the task's system: shared by the change workflow and its plant workflows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.messages import TaskInput, TaskResult, VerifyResult
    from domain.rollout import RolloutTask
    from workflows.queues import queue_for

INVALID_CHANGE = "InvalidChange"
WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
    non_retryable_error_types=["ConnectorRejected", INVALID_CHANGE],
)
COMPENSATE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=20,
    non_retryable_error_types=["ConnectorRejected"],
)
CONNECTOR_HEARTBEAT = timedelta(seconds=10)  # a lost worker's task is retried this soon
_RETRY = {"apply_task": WRITE_RETRY, "compensate_task": COMPENSATE_RETRY}
_TIMEOUT = {"verify_task": timedelta(minutes=1)}
_RESULT = {"verify_task": VerifyResult}


def start_task_activity(name: str, change_id: str, task: RolloutTask, summary: str) -> Any:
    """Start apply_task, compensate_task or verify_task for one task; returns its handle."""
    return workflow.start_activity(
        name,
        TaskInput(change_id=change_id, task=task),
        result_type=_RESULT.get(name, TaskResult),
        task_queue=queue_for(workflow.info().task_queue, task.system.value, task.plant),
        start_to_close_timeout=_TIMEOUT.get(name, timedelta(minutes=2)),
        heartbeat_timeout=CONNECTOR_HEARTBEAT,
        retry_policy=_RETRY.get(name, WRITE_RETRY),
        summary=summary,
    )
