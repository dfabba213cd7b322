"""The thread store: staging of sync runs, validated commits, and the cached index of the thread.

A sync run stages the rows of the documents it fetches (made and checked where each page is
fetched: a document that does not fit its kind refuses the run). Its commit applies them in one
transaction: a full sync replaces the thread (the database inserts the staged JSON itself), an
incremental one upserts what changed; a cyclic BOM refuses the run. A refused or failed run
leaves the previous thread as it was.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic_core import from_json, to_json
from sqlalchemy import delete, func, select, text, tuple_
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from domain.messages import SyncOutcome
from domain.thread_index import BomGraph
from domain.thread_tables import ThreadTables
from store.thread_load import load_tables
from store.thread_rows import (
    CHILDREN,
    ROW_MAKERS,
    InvalidDocumentError,
    page_rows,
    staged_dicts,
)
from store.thread_schema import (
    LIVE_TABLES,
    ThreadEbom,
    ThreadMbom,
    ThreadOperation,
    ThreadPart,
    ThreadStage,
    ThreadState,
    ThreadSyncRun,
)
from store.thread_write import BATCH, insert_staged, pk, pk_of, upsert


class CyclicBomError(ValueError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__("the EBOM has a cycle: " + " -> ".join(cycle))
        self.cycle = cycle


PARENTS = "parents:"  # staged kind: the keys of composite documents whose children a run replaces
TABLES = {t.__tablename__: t for t in LIVE_TABLES}


def _now() -> datetime:
    return datetime.now(UTC)


def _documents(page: str | bytes) -> list[Any]:
    """The documents of a page: a listing's `{"items": [...]}`, a list, or one document."""
    value = from_json(page)  # pydantic-core's parser: twice json's speed
    if isinstance(value, dict) and "items" in value:
        return value["items"]
    return value if isinstance(value, list) else [value]


class ThreadStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        SQLModel.metadata.create_all(engine)

    # -- sync runs --------------------------------------------------------------------------
    def begin(self, mode: str) -> tuple[str, datetime | None]:
        """A new sync run: its id and the watermark to fetch changes since (None: full)."""
        if mode not in ("full", "incremental"):
            raise ValueError(f"sync mode must be full or incremental, not {mode}")
        state = self.state()
        since = state.watermark if mode == "incremental" and state.version > 0 else None
        sync_id = f"sync-{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        with Session(self.engine) as session:
            session.add(
                ThreadSyncRun(
                    sync_id=sync_id, mode="full" if since is None else mode, started_at=_now()
                )
            )
            session.commit()
        return sync_id, since

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

    def stage_json(self, sync_id: str, kind: str, plant: str, page: str | bytes) -> int:
        """stage() for a page as JSON: a listing's `{"items": [...]}` or a list of documents."""
        return self.stage(sync_id, kind, plant, _documents(page))

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
        try:
            self._rows_of_documents(sync_id)
            with Session(self.engine) as session, session.begin():
                if run.mode == "full":
                    counts, warnings, news = self._replace(session, sync_id)
                else:
                    counts, warnings, news = self._merge(session, sync_id)
                state = session.get(ThreadState, 1) or ThreadState(id=1)
                if news:
                    state.version += 1  # else: same thread, same version, the index is kept
                state.watermark = run.started_at
                if run.mode == "full":
                    state.full_synced_at = _now()
                session.add(state)
                session.execute(delete(ThreadStage).where(ThreadStage.sync_id == sync_id))
                version = state.version
        except (CyclicBomError, InvalidDocumentError) as exc:
            self._finish(sync_id, "failed", error=str(exc))
            raise
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
            self.stage(sync_id, kind, plant, _documents(doc))
            with Session(self.engine) as session:
                session.execute(delete(ThreadStage).where(ThreadStage.id == page_id))
                session.commit()

    def _replace(self, session: Session, sync_id: str) -> tuple[dict[str, int], list[str], bool]:
        """A full sync: the thread becomes the staged rows, inserted by the database itself."""
        kinds = set(
            session.execute(
                select(ThreadStage.kind).where(ThreadStage.sync_id == sync_id).distinct()
            ).scalars()
        )
        for table in reversed(LIVE_TABLES):
            session.execute(delete(table))
        counts = {}
        for table in LIVE_TABLES:
            if table.__tablename__ in kinds:
                insert_staged(session, table, sync_id)
                counts[table.__tablename__] = session.execute(
                    select(func.count()).select_from(table)
                ).scalar_one()
        _check_cycles(_edges(session))
        return counts, _dangling_all(session), True

    def _merge(self, session: Session, sync_id: str) -> tuple[dict[str, int], list[str], bool]:
        """An incremental sync: composite documents' children replaced, every row upserted."""
        rows: dict[type[SQLModel], list[dict[str, Any]]] = defaultdict(list)
        parents: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for kind, doc in session.execute(
            select(ThreadStage.kind, ThreadStage.doc)
            .where(ThreadStage.sync_id == sync_id)
            .order_by(ThreadStage.id)
        ):
            if kind.startswith(PARENTS):
                parents[kind.removeprefix(PARENTS)] |= {tuple(k) for k in from_json(doc)}
            else:
                rows[TABLES[kind]] += staged_dicts(TABLES[kind], from_json(doc))
        for table, found in list(rows.items()):
            key = pk_of(table)
            rows[table] = list({key(r): r for r in found}.values())  # the last one wins
        if rows[ThreadEbom]:  # no new BOM line: no new cycle
            _check_cycles(_edges(session) + [(r["parent"], r["child"]) for r in rows[ThreadEbom]])
        news = bool(parents) or self._brings_news(session, rows)
        for kind, (child, key) in CHILDREN.items():
            cols = [getattr(child, k) for k in key]
            for chunk in _chunks(sorted(parents.get(kind, ())), BATCH):
                session.execute(delete(child).where(tuple_(*cols).in_(chunk)))
                if kind == "routing":
                    ops = [ThreadOperation.plant, ThreadOperation.routing]
                    session.execute(delete(ThreadOperation).where(tuple_(*ops).in_(chunk)))
        for table, table_rows in rows.items():
            upsert(session, table, table_rows)
        counts = {t.__tablename__: len(r) for t, r in rows.items() if r}
        return counts, _dangling(session, rows), news

    @staticmethod
    def _brings_news(session: Session, rows: dict[type[SQLModel], list[dict[str, Any]]]) -> bool:
        """Whether an incremental sync changes the thread: a row it does not hold, or holds
        otherwise. A system that cannot filter by `since` sends everything again; that alone
        is no news (the plants too are staged by every run). A composite document (a routing,
        a work instruction, an inspection plan) counts as news: its child rows are replaced."""
        for table, table_rows in rows.items():
            keys = pk(table)
            wanted = {tuple(r[k] for k in keys): r for r in table_rows}
            stored: dict[tuple, dict[str, Any]] = {}
            for chunk in _chunks(sorted(wanted), BATCH):
                if len(keys) == 1:
                    where = getattr(table, keys[0]).in_([k[0] for k in chunk])
                else:
                    where = tuple_(*[getattr(table, k) for k in keys]).in_(chunk)
                for found in session.execute(select(table.__table__).where(where)):
                    mapping = dict(found._mapping)
                    stored[tuple(mapping[k] for k in keys)] = mapping
            for key, row in wanted.items():
                old = stored.get(key)
                if old is None or any(old.get(name) != value for name, value in row.items()):
                    return True
        return False

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


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _json(rows: list[Any]) -> str:
    return to_json(rows).decode()


def _check_cycles(edges: Iterable[tuple[str, str]]) -> None:
    """CyclicBomError when the EBOM's parent -> child edges hold a cycle."""
    ids: dict[str, int] = {}
    pairs = [(ids.setdefault(p, len(ids)), ids.setdefault(c, len(ids))) for p, c in edges]
    if not pairs:
        return
    parent, child = np.array(pairs, dtype=np.int64).T
    cycle = BomGraph(parent, child, len(ids)).find_cycle()
    if cycle is not None:
        names = list(ids)
        # the graph runs child -> parent; show it the way engineers read a BOM
        raise CyclicBomError([names[i] for i in reversed(cycle)])


def _edges(session: Session) -> list[tuple[str, str]]:
    """The stored EBOM's edges, read through the driver (the full thread's are many)."""
    found = session.connection().exec_driver_sql("SELECT parent, child FROM thread_ebom")
    return [tuple(edge) for edge in found.fetchall()]


def _warning(number: str, count: int) -> str:
    return f"part {number} is referenced {count} time(s) but not in PLM"


def _dangling(session: Session, rows: dict[type[SQLModel], list[dict[str, Any]]]) -> list[str]:
    """BOM references, among the rows merged, to parts PLM does not know."""
    if not rows[ThreadEbom] and not rows[ThreadMbom]:
        return []
    known = set(session.execute(select(ThreadPart.number)).scalars())
    missing: dict[str, int] = defaultdict(int)
    for table in (ThreadEbom, ThreadMbom):
        for row in rows[table]:
            for column in ("child", "parent"):
                if row[column] not in known:
                    missing[row[column]] += 1
    return [_warning(n, c) for n, c in sorted(missing.items())[:50]]


def _dangling_all(session: Session) -> list[str]:
    """BOM references, in the whole thread, to parts PLM does not know (counted in SQL)."""
    refs = " UNION ALL ".join(
        f"SELECT {column} AS number FROM {table}"
        for table in ("thread_ebom", "thread_mbom")
        for column in ("child", "parent")
    )
    found = session.execute(
        text(
            f"SELECT number, count(*) FROM ({refs}) AS refs "
            "WHERE number NOT IN (SELECT number FROM thread_part) "
            "GROUP BY number ORDER BY number LIMIT 50"
        )
    )
    return [_warning(n, c) for n, c in found]
