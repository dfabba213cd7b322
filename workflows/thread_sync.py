"""ThreadSyncWorkflow: pull every system into the digital thread (full or incremental).

A change's sync needs no run of its own when the thread is fresh, or when a run under way began
after the last write to a system: it waits for that run's outcome (changes submitted together
share one sync).

Only ids and counts travel through history: documents go from the connectors straight into the
store's staging area, one activity per queue (the central systems, each plant's). A refused
commit (a cyclic BOM) leaves the thread as it was.

Short-lived: pinned to the worker deployment version it started on (docs/upgrading.md), so a
change of its code needs no patch.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, VersioningBehavior
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.messages import (
        SyncFetched,
        SyncFetchGroup,
        SyncOutcome,
        SyncPlan,
        SyncRequest,
        SyncSource,
    )
    from workflows.queues import queue_for

FETCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=8,
    non_retryable_error_types=["ConnectorRejected"],
)
JOIN_RETRY = RetryPolicy(  # "still under way" is answered again a moment later
    initial_interval=timedelta(milliseconds=300),
    backoff_coefficient=1.0,
    maximum_interval=timedelta(seconds=1),
    maximum_attempts=0,
)
REFUSALS = ("CyclicBom", "InvalidDocument")  # the sync is refused whole; the thread stays
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_attempts=5,
    non_retryable_error_types=["CyclicBom"],
)


@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class ThreadSyncWorkflow:
    @workflow.run
    async def run(self, request: SyncRequest) -> SyncOutcome:
        if request.before_assessment:  # a change's sync may wait for one under way
            request = request.model_copy(update={"may_join": True})
        plan = await self._begin(request)
        waited = None
        if plan.joined:
            waited = await self._join(plan.sync_id)
            if waited.status == "committed":
                return waited
            # the run waited for did not commit (failed, or its workflow is gone): its own
            plan = await self._begin(request.model_copy(update={"may_join": False}))
        if plan.fresh_age_s is not None:
            workflow.set_current_details(f"thread synced {plan.fresh_age_s:g} s ago: fresh enough")
            return fresh_outcome(plan, request.mode)
        workflow.set_current_details(
            f"sync {plan.sync_id}: fetching {len(plan.sources)} "
            f"collections" + (f" changed since {plan.since}" if plan.since else " (full)")
        )
        failed = await self._fetch_by_queue(plan)
        if failed:
            return await self._fail(plan.sync_id, "fetch failed: " + "; ".join(failed))
        try:
            outcome = await workflow.execute_activity(
                "thread_sync_commit",
                plan.sync_id,
                result_type=SyncOutcome,
                start_to_close_timeout=timedelta(minutes=30),
                retry_policy=STORE_RETRY,
                summary="Validate and commit the thread",
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type in REFUSALS:
                return await self._fail(plan.sync_id, str(cause))
            raise
        workflow.set_current_details(
            f"sync {plan.sync_id} committed: thread version {outcome.version}"
        )
        if waited is not None:
            note = f"synced on its own: sync {waited.sync_id}, waited for, {waited.error}"
            outcome = outcome.model_copy(update={"warnings": [note, *outcome.warnings]})
        return outcome

    async def _begin(self, request: SyncRequest) -> SyncPlan:
        return await workflow.execute_activity(
            "thread_sync_begin",
            request,
            result_type=SyncPlan,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=STORE_RETRY,
            summary=f"Begin {request.mode} thread sync",
        )

    async def _join(self, sync_id: str) -> SyncOutcome:
        workflow.set_current_details(f"waiting for sync {sync_id}, under way")
        outcome = await await_sync(sync_id)
        workflow.set_current_details(f"joined sync {sync_id}: {outcome.status}")
        return outcome

    async def _fetch_by_queue(self, plan: SyncPlan) -> list[str]:
        """One activity per queue (the central systems, each plant's): it fetches that queue's
        collections concurrently, so a sync costs a handful of activities, not one per
        collection per plant."""
        base = workflow.info().task_queue
        groups: dict[str, list[SyncSource]] = {}
        for source in plan.sources:
            groups.setdefault(queue_for(base, source.system, source.plant), []).append(source)
        fetches = [
            workflow.execute_activity(
                "thread_sync_fetch_group",
                SyncFetchGroup(sync_id=plan.sync_id, sources=sources, since=plan.since),
                result_type=list[SyncFetched],
                task_queue=queue,
                start_to_close_timeout=timedelta(hours=2),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=FETCH_RETRY,
                summary=f"Fetch {len(sources)} collections on {queue}",
            )
            for queue, sources in groups.items()
        ]
        results = await asyncio.gather(*fetches, return_exceptions=True)
        return [
            f"{queue}: {r.cause or r}"
            for queue, r in zip(groups, results, strict=True)
            if isinstance(r, ActivityError)
        ]

    async def _fail(self, sync_id: str, error: str) -> SyncOutcome:
        workflow.set_current_details(f"sync {sync_id} failed; the thread is unchanged: {error}")
        return await workflow.execute_activity(
            "thread_sync_fail",
            SyncOutcome(sync_id=sync_id, status="failed", error=error),
            result_type=SyncOutcome,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=STORE_RETRY,
            summary="Record the failed sync",
        )


def fresh_outcome(plan: SyncPlan, mode: str) -> SyncOutcome:
    """No sync needed: the thread was synced moments ago, with no write since."""
    return SyncOutcome(
        sync_id="-",
        mode=mode,
        status="fresh",
        warnings=[f"the thread was synced {plan.fresh_age_s:g} s ago; no write since"],
    )


async def await_sync(sync_id: str) -> SyncOutcome:
    """Another change's sync began after the last write: its outcome, once it is over (the
    activity looks, and Temporal retries it until the run is over or given up)."""
    return await workflow.execute_activity(
        "thread_sync_await",
        sync_id,
        result_type=SyncOutcome,
        start_to_close_timeout=timedelta(seconds=30),
        schedule_to_close_timeout=timedelta(minutes=15),
        retry_policy=JOIN_RETRY,
        summary=f"Wait for sync {sync_id}",
    )
