"""Thread sync activities: begin a run (or, for a change, find the thread fresh or a run under
way to wait for), fetch one collection page by page into staging (heartbeating its cursor,
resuming from it on retry), commit or fail the run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.deps import ActivityDeps
from activities.failures import connector_failure
from connectors.errors import ConnectorError
from connectors.registry import Connectors
from domain.messages import (
    SyncFetched,
    SyncFetchGroup,
    SyncOutcome,
    SyncPlan,
    SyncRequest,
    SyncSource,
)
from infra.logs import get_logger
from store.audit.read import last_write_at
from store.thread.store import CyclicBomError, InvalidDocumentError, ThreadStore
from store.times import as_utc

CYCLIC_BOM = "CyclicBom"
INVALID_DOCUMENT = "InvalidDocument"
PAGE_SIZE = 2000
PLANT_SYSTEMS = ("ERP", "MES", "QMS")
SYNC_UNDER_WAY = "SyncUnderWay"  # a run waited for is not over yet: look again
JOIN_POLL = timedelta(milliseconds=300)


def plan_sources(connectors: Connectors) -> list[SyncSource]:
    """Every collection every configured connector offers: PLM once, the rest per plant."""
    sources = [SyncSource(kind=k, system="PLM") for k in connectors.plm().kinds()]
    for plant in connectors.plants():
        for system in PLANT_SYSTEMS:
            sources += [
                SyncSource(kind=k, system=system, plant=plant)
                for k in connectors.for_system(system, plant).kinds()
            ]
    return sources


def _refused(sync_id: str, exc: InvalidDocumentError) -> ApplicationError:
    """A document that does not fit its kind refuses the sync whole: never retried."""
    get_logger(sync_id=sync_id).error("thread sync refused", error=str(exc))
    return ApplicationError(str(exc), type=INVALID_DOCUMENT, non_retryable=True)


class SyncActivities:
    def __init__(self, deps: ActivityDeps) -> None:
        self.deps = deps
        self.store = ThreadStore(deps.engine)

    @activity.defn(name="thread_sync_begin")
    async def begin(self, request: SyncRequest) -> SyncPlan:
        """A new run, or for a change's sync: none when the thread is fresh enough, or the run
        under way to wait for (when the request may join one)."""
        bound = self.deps.settings.thread_fresh_seconds
        changes = request.before_assessment and request.mode == "incremental" and bound > 0
        wrote = None
        if changes:
            fresh, wrote = await asyncio.to_thread(self._fresh, bound)
            if fresh is not None:
                return fresh
        # a retried begin may have begun a run before: it does not wait for its own
        if changes and request.may_join and activity.info().attempt == 1:
            sync_id, since, joined = await asyncio.to_thread(
                self.store.begin_or_join, request.mode, wrote, bound
            )
            if joined:
                get_logger(sync_id=sync_id).info("thread sync joined")
                return SyncPlan(sync_id=sync_id, since=since, sources=[], joined=True)
        else:
            sync_id, since = await asyncio.to_thread(self.store.begin, request.mode)
        plants = self.deps.settings.plants
        await asyncio.to_thread(
            self.store.stage,
            sync_id,
            "plant",
            "",
            [{"code": p.code, "name": p.name} for p in plants],
        )
        get_logger(sync_id=sync_id).info("thread sync started", mode=request.mode, since=since)
        return SyncPlan(sync_id=sync_id, since=since, sources=plan_sources(self.deps.connectors))

    @activity.defn(name="thread_sync_look")
    async def look(self, request: SyncRequest) -> SyncPlan | None:
        """For a change, before it starts a sync of its own (read only, nothing begun): a plan
        with nothing to fetch when the thread is fresh, the run under way to wait for, or None
        (a sync of its own is needed; its begin decides again, under the lock)."""
        bound = self.deps.settings.thread_fresh_seconds
        if bound <= 0 or request.mode != "incremental":
            return None
        fresh, wrote = await asyncio.to_thread(self._fresh, bound)
        if fresh is not None:
            return fresh
        run = await asyncio.to_thread(self.store.joinable, wrote, bound)
        if run is None:
            return None
        return SyncPlan(sync_id=run.sync_id, sources=[], joined=True)

    def _fresh(self, bound: float) -> tuple[SyncPlan | None, datetime | None]:
        """A plan with nothing to fetch when the thread was synced within `bound` seconds with
        no write to a system since; and when a system was last written to."""
        wrote = last_write_at(self.deps.engine)
        state = self.store.state()
        if state.version and state.watermark is not None:
            watermark = as_utc(state.watermark)
            age = (datetime.now(UTC) - watermark).total_seconds()
            if age <= bound and (wrote is None or wrote < watermark):
                return SyncPlan(sync_id="-", sources=[], fresh_age_s=round(age, 1)), wrote
        return None, wrote

    @activity.defn(name="thread_sync_await")
    async def await_run(self, sync_id: str) -> SyncOutcome:
        """One look at a run under way (another change's sync): its outcome once committed or
        failed; failed when it is still under way twice `thread_fresh_seconds` after it began
        (its workflow may be gone); else SYNC_UNDER_WAY, retried by Temporal a moment later
        (no worker slot is held while waiting)."""
        run = await asyncio.to_thread(self.store.run, sync_id)
        if run.status != "running":
            report = await asyncio.to_thread(self.store.report, sync_id)
            return report.model_copy(update={"joined": True})
        began = as_utc(run.started_at)
        limit = timedelta(seconds=2 * self.deps.settings.thread_fresh_seconds)
        if datetime.now(UTC) - began > limit:
            return SyncOutcome(
                sync_id=sync_id,
                status="failed",
                joined=True,
                error=f"sync {sync_id} was still under way {limit} after it began",
            )
        raise ApplicationError(  # benign: logged at debug, not counted as a failure
            f"sync {sync_id} is under way",
            type=SYNC_UNDER_WAY,
            next_retry_delay=JOIN_POLL,
            category=ApplicationErrorCategory.BENIGN,
        )

    @activity.defn(name="thread_sync_fetch_group")
    async def fetch_group(self, inp: SyncFetchGroup) -> list[SyncFetched]:
        """Every collection of one queue, fetched concurrently in one activity; the heartbeat
        holds each collection's cursor, so a retry resumes each where it stopped."""
        details = activity.info().heartbeat_details
        progress: dict[str, list] = dict(details[0]) if details else {}

        def key(source: SyncSource) -> str:
            return f"{source.system}|{source.plant or ''}|{source.kind}"

        async def one(source: SyncSource) -> SyncFetched:
            cursor, count, done = progress.get(key(source), [None, 0, False])
            if done:
                return SyncFetched(kind=source.kind, plant=source.plant, count=count)

            def beat(cursor: str | None, count: int) -> None:
                progress[key(source)] = [cursor, count, cursor is None]
                activity.heartbeat(progress)

            return await self._fetch(inp.sync_id, source, inp.since, cursor, count, beat)

        try:
            return list(await asyncio.gather(*(one(s) for s in inp.sources)))
        except ConnectorError as exc:
            raise connector_failure(exc) from exc
        except InvalidDocumentError as exc:
            raise _refused(inp.sync_id, exc) from exc

    async def _fetch(
        self,
        sync_id: str,
        source: SyncSource,
        since: datetime | None,
        cursor: str | None,
        count: int,
        beat: Callable[[str | None, int], None],
    ) -> SyncFetched:
        """Pages of one collection from `cursor` on into staging, `beat` after each page."""
        connector = self.deps.connectors.for_system(source.system, source.plant)
        raw = getattr(connector, "page_json", None)  # the bulk path of connectors that have it
        plant = source.plant or ""

        while True:
            if raw is not None:  # the listing as it came, parsed once
                body = await raw(source.kind, after=cursor, since=since, limit=PAGE_SIZE)
                found, cursor = await asyncio.to_thread(  # rows made here, in this process
                    self.store.stage_json, sync_id, source.kind, plant, body
                )
            else:
                page = await connector.page(source.kind, after=cursor, since=since, limit=PAGE_SIZE)
                found, cursor = len(page.items), page.next_cursor
                docs = [item.model_dump(mode="json") for item in page.items]
                await asyncio.to_thread(self.store.stage, sync_id, source.kind, plant, docs)
            count += found
            beat(cursor, count)
            if not cursor:
                return SyncFetched(kind=source.kind, plant=source.plant, count=count)

    @activity.defn(name="thread_sync_commit")
    async def commit(self, sync_id: str) -> SyncOutcome:
        try:
            report = await asyncio.to_thread(self.store.commit, sync_id)
        except CyclicBomError as exc:
            get_logger(sync_id=sync_id).error("thread sync refused", error=str(exc))
            raise ApplicationError(
                str(exc), exc.cycle, type=CYCLIC_BOM, non_retryable=True
            ) from exc
        except InvalidDocumentError as exc:
            raise _refused(sync_id, exc) from exc
        get_logger(sync_id=sync_id).info(
            "thread sync committed", version=report.version, warnings=len(report.warnings)
        )
        return report

    @activity.defn(name="thread_sync_fail")
    async def fail(self, inp: SyncOutcome) -> SyncOutcome:
        await asyncio.to_thread(self.store.fail, inp.sync_id, inp.error or "failed")
        return await asyncio.to_thread(self.store.report, inp.sync_id)
