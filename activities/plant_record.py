"""What a plant workflow that ended without its result (terminated) held when it ended: its
`tasks` query, answered by a worker replaying the closed workflow's history. A task it held as
done was applied even when its audit event never reached the store (the store was down when
the plant was terminated); the change takes it as applied, so a rollback undoes it."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import WorkflowQueryFailedError

from domain.rollout.tasks import RolloutTask
from infra.logs import get_logger


@activity.defn(name="ended_plant_tasks")
async def ended_plant_tasks(workflow_id: str, run_id: str | None) -> list[RolloutTask] | None:
    """The plant workflow's tasks as of its last completed step, or None when its replay cannot
    answer (the change then goes by its audit trail alone). An unreachable server or no worker
    to replay it fails the attempt: the change retries a few times, then goes by the trail."""
    handle = activity.client().get_workflow_handle(workflow_id, run_id=run_id)
    try:
        return await handle.query("tasks", result_type=list[RolloutTask])
    except WorkflowQueryFailedError as exc:
        get_logger(workflow_id=workflow_id, run_id=run_id).warning(
            "an ended plant workflow could not say what it applied", error=str(exc)
        )
        return None
