"""The thread store: staging of sync runs, validated commits, and the cached index of the thread.

A sync run stages the rows of the documents it fetches (made and checked where each page is
fetched: a document that does not fit its kind refuses the run). Its commit applies them in one
transaction: a full sync replaces the thread (the database inserts the staged JSON itself), an
incremental one upserts what changed; a cyclic BOM refuses the run. A refused or failed run
leaves the previous thread as it was.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic_core import from_json, to_json
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domain.messages import SyncOutcome
from domain.thread.tables import ThreadTables
from infra.logs import get_logger
from store.thread.commit import PARENTS, CyclicBomError, merge, replace
from store.thread.load import load_tables
from store.thread.rows import ROW_MAKERS, InvalidDocumentError, page_rows
from store.thread.schema import LIVE_TABLES, ThreadStage, ThreadState, ThreadSyncRun
from store.times import as_utc

log = get_logger(component="thread")

__all__ = ["CyclicBomError", "InvalidDocumentError", "ThreadStore"]


def _now() -> datetime:
    return datetime.now(UTC)


def _lock_runs(session: Session) -> None:
    """Hold the sync runs' lock until the transaction ends (starting runs one at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE thread_sync_run IN SHARE ROW EXCLUSIVE MODE"))
    else:  # SQLite: a transaction's first write takes the database's write lock
        session.execute(text("UPDATE thread_sync_run SET status = status WHERE 0 = 1"))


def _newest_running(session: Session) -> ThreadSyncRun | None:
    return (
        session.execute(
            select(ThreadSyncRun)
            .where(ThreadSyncRun.status == "running")
            .order_by(ThreadSyncRun.started_at.desc())  # type: ignore[attr-defined]
            .limit(1)
        )
        .scalars()
        .first()
    )


def _joinable(run: ThreadSyncRun, after: datetime | None, within_s: float) -> bool:
    began = as_utc(run.started_at)
    fresh = (_now() - began).total_seconds() <= within_s
    return fresh and (after is None or began > as_utc(after))


def _listing(page: str | bytes) -> tuple[list[Any], str | None]:
    """The documents of a page and its next cursor: a listing's `{"items": [...],
    "next_cursor": ...}`, or a list of documents."""
    value = from_json(page)  # pydantic-core's parser: twice json's speed
    if isinstance(value, dict) and "items" in value:
        return value["items"], value.get("next_cursor")
    return (value if isinstance(value, list) else [value]), None


class ThreadStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # its tables come from the migrations (store/migrate.py)

    # -- sync runs --------------------------------------------------------------------------
    def begin(self, mode: str) -> tuple[str, datetime | None]:
        """A new sync run: its id and the watermark to fetch changes since (None: full)."""
        sync_id, since, _joined = self._begin(mode, None)
        return sync_id, since

    def begin_or_join(
        self, mode: str, after: datetime | None, within_s: float
    ) -> tuple[str, datetime | None, bool]:
        """A change's sync: the run under way to wait for (see joinable; joined True), else a
        new run. Decided under a lock, so changes arriving together start one run, not one
        each."""
        return self._begin(mode, (after, within_s))

    def _begin(
        self, mode: str, join: tuple[datetime | None, float] | None
    ) -> tuple[str, datetime | None, bool]:
        if mode not in ("full", "incremental"):
            raise ValueError(f"sync mode must be full or incremental, not {mode}")
        state = self.state()
        since = state.watermark if mode == "incremental" and state.version > 0 else None
        with Session(self.engine) as session, session.begin():
            if join is not None:
                _lock_runs(session)
                run = _newest_running(session)
                if run is not None and _joinable(run, *join):
                    return run.sync_id, since, True
            sync_id = f"sync-{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
            session.add(
                ThreadSyncRun(
                    sync_id=sync_id, mode="full" if since is None else mode, started_at=_now()
                )
            )
        return sync_id, since, False

    def stage(self, sync_id: str, kind: str, plant: str, docs: list[dict[str, Any]]) -> int:
        """Make rows of fetched documents and stage them until the run's commit (one staged
        row per table). A document that does not fit its kind refuses the run whole:
        InvalidDocumentError, naming it."""
        if not docs:
            return 0
        try:
            tables, parents = page_rows(kind, docs)
        except InvalidDocumentError as exc:
            self._finish(sync_id, "failed", error=str(exc))
            raise
        staged = [
            {"sync_id": sync_id, "kind": t.__tablename__, "plant": plant, "doc": _json(rows)}
            for t, rows in tables.items()
        ]
        if parents:
            staged.append(
                {"sync_id": sync_id, "kind": PARENTS + kind, "plant": plant, "doc": _json(parents)}
            )
        if staged:
            with Session(self.engine) as session:
                session.execute(ThreadStage.__table__.insert(), staged)
                session.commit()
        return len(docs)

    def stage_json(
        self, sync_id: str, kind: str, plant: str, page: str | bytes
    ) -> tuple[int, str | None]:
        """stage() for a page as JSON, parsed once: a listing's `{"items": [...],
        "next_cursor": ...}` or a list of documents. Returns the count and the next cursor."""
        docs, cursor = _listing(page)
        return self.stage(sync_id, kind, plant, docs), cursor

    def joinable(self, after: datetime | None, within_s: float) -> ThreadSyncRun | None:
        """The newest sync run under way, if it began after `after` (the last write to a
        system) and at most `within_s` seconds ago: its commit will hold every write up to now."""
        with Session(self.engine) as session:
            run = _newest_running(session)
        return run if run is not None and _joinable(run, after, within_s) else None

    def run(self, sync_id: str) -> ThreadSyncRun:
        with Session(self.engine) as session:
            found = session.get(ThreadSyncRun, sync_id)
            if found is None:
                raise KeyError(f"sync run {sync_id} does not exist")
            return found

    def commit(self, sync_id: str) -> SyncOutcome:
        """Apply the staged rows in one transaction: a full sync replaces the thread, an
        incremental one merges into it. CyclicBomError refuses them all."""
        run = self.run(sync_id)
        if run.status != "running":
            return self.report(sync_id)
        clock = time.perf_counter()
        took: dict[str, float] = {}

        def lap(phase: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            took[phase], clock = round(took.get(phase, 0.0) + now - clock, 2), now

        try:
            self._rows_of_documents(sync_id)
            with Session(self.engine) as session, session.begin():
                if run.mode == "full":
                    counts, warnings, news = replace(session, sync_id, lap)
                else:
                    counts, warnings, news = merge(session, sync_id)
                    lap("merge_s")
                state = session.get(ThreadState, 1) or ThreadState(id=1)
                if news:
                    state.version += 1  # else: same thread, same version, the index is kept
                state.watermark = run.started_at
                if run.mode == "full":
                    state.full_synced_at = _now()
                session.add(state)
                session.execute(delete(ThreadStage).where(ThreadStage.sync_id == sync_id))
                version = state.version
                lap("staging_emptied_s")
            lap("transaction_s")
        except (CyclicBomError, InvalidDocumentError) as exc:
            self._finish(sync_id, "failed", error=str(exc))
            raise
        log.info("thread sync commit", sync_id=sync_id, mode=run.mode, **took)
        self._finish(sync_id, "committed", version=version, counts=counts, warnings=warnings)
        return self.report(sync_id)

    def _rows_of_documents(self, sync_id: str) -> None:
        """Pages staged as documents (by a changeflow before rows were made at the fetch, for
        a run under way across an upgrade) become staged rows."""
        with Session(self.engine) as session:
            pages = session.execute(
                select(ThreadStage.id, ThreadStage.kind, ThreadStage.plant, ThreadStage.doc)
                .where(ThreadStage.sync_id == sync_id)
                .where(ThreadStage.kind.in_(list(ROW_MAKERS)))
                .order_by(ThreadStage.id)
            ).all()
        for page_id, kind, plant, doc in pages:
            self.stage_json(sync_id, kind, plant, doc)
            with Session(self.engine) as session:
                session.execute(delete(ThreadStage).where(ThreadStage.id == page_id))
                session.commit()

    def fail(self, sync_id: str, error: str) -> None:
        """The run failed: recorded once (a refusal's own reason stands), its staging removed
        (pages a concurrent fetch staged after a refusal included)."""
        if self.run(sync_id).status == "running":
            self._finish(sync_id, "failed", error=error)
            return
        with Session(self.engine) as session:
            session.execute(delete(ThreadStage).where(ThreadStage.sync_id == sync_id))
            session.commit()

    def _finish(
        self,
        sync_id: str,
        status: str,
        *,
        version: int | None = None,
        counts: dict[str, int] | None = None,
        warnings: list[str] | None = None,
        error: str | None = None,
    ) -> None:
        with Session(self.engine) as session:
            run = session.get(ThreadSyncRun, sync_id)
            run.status, run.finished_at, run.version = status, _now(), version
            run.counts = json.dumps({"rows": counts or {}, "warnings": warnings or []})
            run.error = error
            session.add(run)
            if status == "failed":
                session.execute(delete(ThreadStage).where(ThreadStage.sync_id == sync_id))
            session.commit()

    def report(self, sync_id: str) -> SyncOutcome:
        run = self.run(sync_id)
        data = json.loads(run.counts or "{}")
        return SyncOutcome(
            sync_id=sync_id,
            mode=run.mode,
            status=run.status,
            version=run.version,
            counts=data.get("rows", {}),
            warnings=data.get("warnings", []),
            error=run.error,
        )

    # -- reading ----------------------------------------------------------------------------
    def state(self) -> ThreadState:
        with Session(self.engine) as session:
            return session.get(ThreadState, 1) or ThreadState(id=1)

    def recent_runs(self, limit: int = 10) -> list[SyncOutcome]:
        with Session(self.engine) as session:
            ids = (
                session.execute(
                    select(ThreadSyncRun.sync_id)
                    .order_by(ThreadSyncRun.started_at.desc())  # type: ignore
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        return [self.report(i) for i in ids]

    def counts(self) -> dict[str, int]:
        with Session(self.engine) as session:
            return {
                t.__tablename__: session.execute(select(func.count()).select_from(t)).scalar_one()
                for t in LIVE_TABLES
            }

    def load(self) -> tuple[int, ThreadTables]:
        """The committed thread in columns, with its version."""
        return self.state().version, load_tables(self.engine)


def _json(rows: list[Any]) -> str:
    return to_json(rows).decode()
