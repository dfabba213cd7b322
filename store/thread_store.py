"""The thread store: staging of sync runs, validated commits, and the cached index of the thread.

A sync run stages documents; its commit validates them (a cyclic BOM is refused) and applies
them in one transaction: a full sync replaces the thread, an incremental one upserts what
changed. A refused or failed commit leaves the previous thread as it was.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic_core import from_json
from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from domain.messages import SyncOutcome
from domain.thread_index import BomGraph
from domain.thread_tables import ThreadTables
from store.thread_load import load_tables
from store.thread_rows import CHILDREN, doc_rows
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
from store.thread_write import BATCH, insert_all, pk, pk_of, upsert


class CyclicBomError(ValueError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__("the EBOM has a cycle: " + " -> ".join(cycle))
        self.cycle = cycle


class InvalidDocumentError(ValueError):
    """A fetched document cannot become thread rows (a field missing or of the wrong type):
    the sync is refused whole, naming the document."""


def _rows_of(kind: str, doc: Any) -> list[tuple[type[SQLModel], dict[str, Any]]]:
    """doc_rows, with a clear refusal for a document that does not fit its kind. Documents are
    checked here, where they become rows (a connector's bulk pages are staged unparsed)."""
    try:
        return doc_rows(kind, doc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        name = next(
            (str(doc[k]) for k in ("id", "number", "code") if isinstance(doc, dict) and k in doc),
            str(doc)[:120],
        )
        plant = f" of plant {doc['plant']}" if isinstance(doc, dict) and doc.get("plant") else ""
        raise InvalidDocumentError(
            f"{kind} {name}{plant} is not a valid document: {type(exc).__name__} {exc}"
        ) from exc


def _now() -> datetime:
    return datetime.now(UTC)


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
        """Stage fetched documents (one row for them all) until the run's commit."""
        if not docs:
            return 0
        self.stage_json(sync_id, kind, plant, json.dumps(docs, default=str))
        return len(docs)

    def stage_json(self, sync_id: str, kind: str, plant: str, page: str | bytes) -> None:
        """Stage one page as JSON: a list of documents or a listing's `{"items": [...]}`."""
        text = page.decode() if isinstance(page, bytes) else page
        with Session(self.engine) as session:
            session.execute(
                ThreadStage.__table__.insert(),
                [{"sync_id": sync_id, "kind": kind, "plant": plant, "doc": text}],
            )
            session.commit()

    def run(self, sync_id: str) -> ThreadSyncRun:
        with Session(self.engine) as session:
            found = session.get(ThreadSyncRun, sync_id)
            if found is None:
                raise KeyError(f"sync run {sync_id} does not exist")
            return found

    def commit(self, sync_id: str) -> SyncOutcome:
        """Validate the staged documents and apply them; CyclicBomError or InvalidDocumentError
        refuses them all."""
        run = self.run(sync_id)
        if run.status != "running":
            return self.report(sync_id)
        staged: dict[str, list[dict[str, Any]]] = defaultdict(list)
        with Session(self.engine) as session:
            for kind, doc in session.execute(
                select(ThreadStage.kind, ThreadStage.doc)
                .where(ThreadStage.sync_id == sync_id)
                .order_by(ThreadStage.id)
            ):
                value = from_json(doc)  # pydantic-core's parser: twice json's speed
                if isinstance(value, dict) and "items" in value:
                    staged[kind].extend(value["items"])  # a page
                elif isinstance(value, list):
                    staged[kind].extend(value)
                else:
                    staged[kind].append(value)  # one document (staged before pages were)
        by_key: dict[type[SQLModel], dict[Any, dict[str, Any]]] = defaultdict(dict)
        try:
            for kind, docs in staged.items():
                for doc in docs:
                    for table, row in _rows_of(kind, doc):
                        by_key[table][pk_of(table)(row)] = row  # last one wins
        except InvalidDocumentError as exc:
            self._finish(sync_id, "failed", error=str(exc))
            raise
        rows: dict[type[SQLModel], list[dict[str, Any]]] = defaultdict(list)
        rows.update({table: list(found.values()) for table, found in by_key.items()})
        full = run.mode == "full"
        try:
            self._check_cycles(rows[ThreadEbom], full)
        except CyclicBomError as exc:
            self._finish(sync_id, "failed", error=str(exc))
            raise
        warnings = self._dangling(rows, full)
        counts = {t.__tablename__: len(r) for t, r in rows.items()}
        news = full or self._brings_news(staged, rows)
        with Session(self.engine) as session, session.begin():
            if full:
                for table in reversed(LIVE_TABLES):
                    session.execute(delete(table))
                for table, table_rows in rows.items():
                    insert_all(session, table, table_rows)
            else:
                for kind, (child, key) in CHILDREN.items():
                    parents = {(d["plant"], d["id"]) for d in staged.get(kind, [])}
                    cols = [getattr(child, k) for k in key]
                    for chunk in _chunks(sorted(parents), BATCH):
                        session.execute(delete(child).where(tuple_(*cols).in_(chunk)))
                    if kind == "routing":
                        ops = [ThreadOperation.plant, ThreadOperation.routing]
                        for chunk in _chunks(sorted(parents), BATCH):
                            session.execute(delete(ThreadOperation).where(tuple_(*ops).in_(chunk)))
                for table, table_rows in rows.items():
                    upsert(session, table, table_rows)
            state = session.get(ThreadState, 1) or ThreadState(id=1)
            if news:
                state.version += 1  # else: same thread, same version, the index is kept
            state.watermark = run.started_at
            if full:
                state.full_synced_at = _now()
            session.add(state)
            session.execute(delete(ThreadStage).where(ThreadStage.sync_id == sync_id))
            version = state.version
        self._finish(sync_id, "committed", version=version, counts=counts, warnings=warnings)
        return self.report(sync_id)

    def _brings_news(
        self,
        staged: dict[str, list[dict[str, Any]]],
        rows: dict[type[SQLModel], list[dict[str, Any]]],
    ) -> bool:
        """Whether an incremental sync changes the thread: a row it does not hold, or holds
        otherwise. A system that cannot filter by `since` sends everything again; that alone
        is no news (the plants too are staged by every run). A composite document (a routing,
        a work instruction, an inspection plan) counts as news: its child rows are replaced."""
        if any(staged.get(kind) for kind in CHILDREN):
            return True
        with Session(self.engine) as session:
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
        self._finish(sync_id, "failed", error=error)

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

    def _check_cycles(self, staged_ebom: list[dict[str, Any]], full: bool) -> None:
        if not staged_ebom:
            return  # no new BOM line: no new cycle
        edges = {(r["parent"], r["child"]) for r in staged_ebom}
        if not full:
            with Session(self.engine) as session:
                edges |= set(session.execute(select(ThreadEbom.parent, ThreadEbom.child)).all())
        if not edges:
            return
        names = sorted({p for e in edges for p in e})
        ids = {n: i for i, n in enumerate(names)}
        parent = np.array([ids[p] for p, _ in edges])
        child = np.array([ids[c] for _, c in edges])
        cycle = BomGraph(parent, child, len(names)).find_cycle()
        if cycle is not None:
            # the graph runs child -> parent; show it the way engineers read a BOM
            raise CyclicBomError([names[i] for i in reversed(cycle)])

    def _dangling(self, rows: dict[type[SQLModel], list[dict[str, Any]]], full: bool) -> list[str]:
        if not rows[ThreadEbom] and not rows[ThreadMbom]:
            return []
        known = {r["number"] for r in rows[ThreadPart]}
        if not full:
            with Session(self.engine) as session:
                known |= set(session.execute(select(ThreadPart.number)).scalars())
        missing: dict[str, int] = defaultdict(int)
        for table, column in (
            (ThreadEbom, "child"),
            (ThreadEbom, "parent"),
            (ThreadMbom, "child"),
            (ThreadMbom, "parent"),
        ):
            for row in rows[table]:
                if row[column] not in known:
                    missing[row[column]] += 1
        return [
            f"part {number} is referenced {count} time(s) but not in PLM"
            for number, count in sorted(missing.items())[:50]
        ]

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
