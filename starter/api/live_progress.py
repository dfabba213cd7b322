"""A change's state with its plants' progress as it stands: the change names the plants whose
workflows are applying tasks now, and each of those workflows answers for its own tasks (the
`tasks` query), so progress costs nothing in the change's history. A plant that cannot answer
(it has just ended) is shown as the change last recorded it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from domain.lifecycle.state import ChangeState
from domain.rollout.progress import with_reported
from domain.rollout.tasks import RolloutTask
from workflows.plant_rollout import PlantRolloutWorkflow

PLANT_QUERY_TIMEOUT = timedelta(seconds=5)


async def with_live_progress(client: Client, state: ChangeState) -> ChangeState:
    """`state` with the tasks its running plant workflows report (a copy; one query each)."""
    if not state.rolling_out:
        return state

    async def reported(plant: str) -> list[RolloutTask]:
        handle = client.get_workflow_handle(f"{state.change_id}.{plant}")
        try:
            return await handle.query(PlantRolloutWorkflow.tasks, rpc_timeout=PLANT_QUERY_TIMEOUT)
        except (RPCError, WorkflowQueryFailedError):
            return []

    reports = await asyncio.gather(*(reported(plant) for plant in state.rolling_out))
    tasks = with_reported(state.tasks, [task for report in reports for task in report])
    return state.model_copy(update={"tasks": tasks})
