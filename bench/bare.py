"""The bare side of the lifecycle benchmark: a workflow with a change's shape whose activities do
nothing. It runs in Temporal's sandbox like changeflow's workflows, so both pay the SDK's own
costs (this module imports nothing else for that reason)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("ChangeStage")  # as a change shows it is waiting


@activity.defn(name="bench_noop")
async def noop(step: str) -> str:
    return step


Shape = list[list]  # steps; a step: [activities, [branch, ...], local activities], a branch:
# its waves in order, a wave: [activities, local activities]


@workflow.defn
class BareWorkflow:
    """A change's shape with no-op activities: per step of the change's workflow, as many
    activities (and local activities) as it scheduled in that workflow task, with its child
    workflows as concurrent branches of sequential waves; one Update in place of the approvals,
    where it waited (it shows it waits as a change does: ChangeStage awaiting_approval)."""

    def __init__(self) -> None:
        self.approved = False

    @workflow.update
    async def approve(self) -> None:
        self.approved = True

    @workflow.run
    async def run(self, shape: Shape, approval_step: int) -> int:
        opts = {"start_to_close_timeout": timedelta(seconds=30)}
        done = 0

        async def wave(size: int, local: int = 0) -> None:
            run, run_local = workflow.execute_activity, workflow.execute_local_activity
            await asyncio.gather(
                *(run("bench_noop", f"a{i}", **opts) for i in range(size)),
                *(run_local("bench_noop", f"l{i}", **opts) for i in range(local)),
            )

        async def branch(waves: list[list[int]]) -> None:
            for size, local in waves:
                await wave(size, local)

        for number, (activities, branches, local) in enumerate(shape):
            if number == approval_step:
                workflow.upsert_search_attributes([STAGE.value_set("awaiting_approval")])
                await workflow.wait_condition(lambda: self.approved)
                workflow.upsert_search_attributes([STAGE.value_set("approved")])
            await asyncio.gather(wave(activities, local), *(branch(b) for b in branches))
            done += activities + local + sum(sum(map(sum, b)) for b in branches)
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
