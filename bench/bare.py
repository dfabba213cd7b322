"""The bare side of the lifecycle benchmark: a workflow with a change's shape whose activities do
nothing. It runs in Temporal's sandbox like changeflow's workflows, so both pay the SDK's own
costs (this module imports nothing else for that reason)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop(step: str) -> str:
    return step


Shape = list[list]  # steps; a step: [activities, [branch, ...]], a branch: a list of wave sizes


@workflow.defn
class BareWorkflow:
    """A change's shape with no-op activities: per step of the change's workflow, as many
    activities as it scheduled in that workflow task, with its child workflows as concurrent
    branches of sequential waves; one Update in place of the approvals, where it waited."""

    def __init__(self) -> None:
        self.approved = False

    @workflow.update
    async def approve(self) -> None:
        self.approved = True

    @workflow.run
    async def run(self, shape: Shape, approval_step: int) -> int:
        opts = {"start_to_close_timeout": timedelta(seconds=30)}
        done = 0

        async def wave(size: int) -> None:
            await asyncio.gather(
                *(workflow.execute_activity("bench_noop", f"a{i}", **opts) for i in range(size))
            )

        async def branch(sizes: list[int]) -> None:
            for size in sizes:
                await wave(size)

        for number, (activities, branches) in enumerate(shape):
            if number == approval_step:
                await workflow.wait_condition(lambda: self.approved)
            await asyncio.gather(wave(activities), *(branch(b) for b in branches))
            done += activities + sum(sum(b) for b in branches)
        return done


async def serve(address: str, namespace: str, queue: str) -> None:
    """The bare worker, alone in its process (so that its memory and CPU are its own)."""
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(address, namespace=namespace)
    async with Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[noop]):
        await asyncio.Event().wait()


if __name__ == "__main__":
    import sys

    asyncio.run(serve(*sys.argv[1:4]))
