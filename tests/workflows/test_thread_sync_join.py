"""Issue 9, a change's sync that waits for another's (time-skipping server, fake activities):
it waits without holding a worker slot (the activity answers "still under way" and Temporal asks
again), takes the outcome of a run that commits, and syncs on its own when the run it waited
for did not commit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sync import SYNC_UNDER_WAY
from domain.messages import (
    SyncFetched,
    SyncFetchGroup,
    SyncOutcome,
    SyncPlan,
    SyncRequest,
    SyncSource,
)
from tests.support.changes import record_history
from tests.support.helpers import start_time_skipping
from worker import workflow_runner
from workflows.thread_sync import ThreadSyncWorkflow


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()


class Fakes:
    def __init__(self, other_run: str) -> None:
        self.other_run = other_run  # "committed" or "failed"
        self.begins: list[SyncRequest] = []
        self.looks = 0
        self.commits = 0

    def activities(self) -> list:
        @activity.defn(name="thread_sync_begin")
        async def begin(request: SyncRequest) -> SyncPlan:
            self.begins.append(request)
            if request.may_join:
                return SyncPlan(sync_id="sync-other", sources=[], joined=True)
            return SyncPlan(sync_id="sync-own", sources=[SyncSource(kind="part", system="PLM")])

        @activity.defn(name="thread_sync_await")
        async def await_run(sync_id: str) -> SyncOutcome:
            self.looks += 1
            if self.looks < 3:
                raise ApplicationError(
                    "under way", type=SYNC_UNDER_WAY, next_retry_delay=timedelta(milliseconds=10)
                )
            if self.other_run == "committed":
                return SyncOutcome(sync_id=sync_id, status="committed", version=7, joined=True)
            return SyncOutcome(sync_id=sync_id, status="failed", joined=True, error="PLM down")

        @activity.defn(name="thread_sync_fetch_group")
        async def fetch_group(inp: SyncFetchGroup) -> list[SyncFetched]:
            return [SyncFetched(kind=s.kind, count=1) for s in inp.sources]

        @activity.defn(name="thread_sync_commit")
        async def commit(sync_id: str) -> SyncOutcome:
            self.commits += 1
            return SyncOutcome(sync_id=sync_id, status="committed", version=8)

        return [begin, await_run, fetch_group, commit]


async def run(env: WorkflowEnvironment, fakes: Fakes, recorded_as: str) -> SyncOutcome:
    queue = f"sync-join-{uuid.uuid4().hex[:6]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[ThreadSyncWorkflow],
        workflow_runner=workflow_runner(),
        activities=fakes.activities(),
    ):
        handle = await env.client.start_workflow(
            ThreadSyncWorkflow.run,
            SyncRequest(mode="incremental", before_assessment=True),
            id=f"sync-join-{uuid.uuid4().hex[:6]}",
            task_queue=queue,
        )
        outcome = await handle.result()
    await record_history(handle, recorded_as)
    return outcome


async def test_a_change_takes_the_outcome_of_the_sync_it_waited_for(env) -> None:
    fakes = Fakes("committed")
    outcome = await run(env, fakes, "sync-joined")
    assert outcome.joined and outcome.sync_id == "sync-other" and outcome.version == 7
    assert fakes.looks == 3 and fakes.commits == 0  # asked again until over; nothing fetched
    assert [b.may_join for b in fakes.begins] == [True]


async def test_a_change_syncs_on_its_own_when_the_sync_it_waited_for_did_not_commit(env) -> None:
    fakes = Fakes("failed")
    outcome = await run(env, fakes, "sync-joined-failed-then-own")
    assert outcome.status == "committed" and outcome.sync_id == "sync-own" and not outcome.joined
    assert fakes.commits == 1
    assert [b.may_join for b in fakes.begins] == [True, False]
    assert "sync-other" in outcome.warnings[0] and "PLM down" in outcome.warnings[0]
