"""A task's connector activities from workflow code, each on the queue that reaches the task's
system: one task applied or undone (the change workflow and its plant workflows), and tasks read
back with one activity per queue."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.messages import TaskInput, TaskResult, VerifyResult, VerifyTasks
    from domain.rollout.tasks import RolloutTask
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


def start_task_activity(name: str, change_id: str, task: RolloutTask, summary: str) -> Any:
    """Start apply_task or compensate_task for one task; returns its handle."""
    return workflow.start_activity(
        name,
        TaskInput(change_id=change_id, task=task),
        result_type=TaskResult,
        task_queue=queue_for(workflow.info().task_queue, task.system.value, task.plant),
        start_to_close_timeout=timedelta(minutes=2),
        heartbeat_timeout=CONNECTOR_HEARTBEAT,
        retry_policy=_RETRY[name],
        summary=summary,
    )


async def read_back_by_queue(change_id: str, tasks: list[RolloutTask]) -> list[VerifyResult]:
    """Read back `tasks` with one activity per queue (the central systems, each plant's), in
    parallel; a read that cannot be done counts as a failed verification of its tasks."""
    base = workflow.info().task_queue
    groups: dict[str, list[RolloutTask]] = {}
    for task in tasks:
        groups.setdefault(queue_for(base, task.system.value, task.plant), []).append(task)

    async def one(queue: str, group: list[RolloutTask]) -> list[VerifyResult]:
        try:
            return await workflow.execute_activity(
                "verify_tasks",
                VerifyTasks(change_id=change_id, tasks=group),
                result_type=list[VerifyResult],
                task_queue=queue,
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=CONNECTOR_HEARTBEAT,
                retry_policy=WRITE_RETRY,
                summary=f"Verify {len(group)} task(s) on {queue}",
            )
        except ActivityError as err:
            detail = f"could not read back: {err.cause or err}"
            return [VerifyResult(task_id=t.id, ok=False, detail=detail) for t in group]

    found = await asyncio.gather(*(one(q, g) for q, g in groups.items()))
    by_id = {r.task_id: r for results in found for r in results}
    return [by_id[task.id] for task in tasks]
