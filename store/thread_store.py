"""The thread store: staging of sync runs, validated commits, and loading the thread in columns.

A sync run stages documents; its commit validates them (a cyclic BOM is refused) and applies
them in one transaction: a full sync replaces the thread, an incremental one upserts what
changed. A refused or failed commit leaves the previous thread as it was.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from domain.messages import SyncOutcome
from domain.thread_index import BomGraph
from domain.thread_tables import ThreadTables, make_table
from store.thread_rows import CHILDREN, doc_rows
from store.thread_schema import (
    LIVE_TABLES,
    ThreadCharacteristic,
    ThreadEbom,
    ThreadEquipment,
    ThreadInspectionPlan,
    ThreadInventory,
    ThreadMbom,
    ThreadNcProgram,
    ThreadOperation,
    ThreadOperationPart,
    ThreadPart,
    ThreadPlant,
    ThreadProductionOrder,
    ThreadPurchaseOrder,
    ThreadQualification,
    ThreadStage,
    ThreadState,
    ThreadSyncRun,
    ThreadWiPart,
    ThreadWorkInstruction,
)

BATCH = 500


class CyclicBomError(ValueError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__("the EBOM has a cycle: " + " -> ".join(cycle))
        self.cycle = cycle


def _now() -> datetime:
    return datetime.now(UTC)


def _pk(table: type[SQLModel]) -> list[str]:
    return [c.name for c in table.__table__.primary_key.columns]


def _upsert(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    keys = _pk(table)
    unique = {tuple(r[k] for k in keys): r for r in rows}  # last write wins within a batch
    rows = list(unique.values())
    for start in range(0, len(rows), BATCH):
        stmt = insert(table.__table__).values(rows[start : start + BATCH])
        others = [c for c in rows[0] if c not in keys]
        if others:
            stmt = stmt.on_conflict_do_update(
                index_elements=keys, set_={c: stmt.excluded[c] for c in others}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=keys)
        session.execute(stmt)


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
        if not docs:
            return 0
        with Session(self.engine) as session:
            session.execute(
                ThreadStage.__table__.insert(),
                [
                    {
                        "sync_id": sync_id,
                        "kind": kind,
                        "plant": plant,
                        "doc": json.dumps(d, default=str),
                    }
                    for d in docs
                ],
            )
            session.commit()
        return len(docs)

    def run(self, sync_id: str) -> ThreadSyncRun:
        with Session(self.engine) as session:
            found = session.get(ThreadSyncRun, sync_id)
            if found is None:
                raise KeyError(f"sync run {sync_id} does not exist")
            return found

    def commit(self, sync_id: str) -> SyncOutcome:
        """Validate the staged documents and apply them; CyclicBomError refuses them all."""
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
                staged[kind].append(json.loads(doc))
        by_key: dict[type[SQLModel], dict[tuple, dict[str, Any]]] = defaultdict(dict)
        for kind, docs in staged.items():
            for doc in docs:
                for table, row in doc_rows(kind, doc):
                    by_key[table][tuple(row[k] for k in _pk(table))] = row  # last one wins
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
        with Session(self.engine) as session, session.begin():
            if full:
                for table in reversed(LIVE_TABLES):
                    session.execute(delete(table))
                for table, table_rows in rows.items():
                    for start in range(0, len(table_rows), 5000):
                        session.execute(table.__table__.insert(), table_rows[start : start + 5000])
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
                    _upsert(session, table, table_rows)
            state = session.get(ThreadState, 1) or ThreadState(id=1)
            state.version += 1
            state.watermark = run.started_at
            if full:
                state.full_synced_at = _now()
            session.add(state)
            session.execute(delete(ThreadStage).where(ThreadStage.sync_id == sync_id))
            version = state.version
        self._finish(sync_id, "committed", version=version, counts=counts, warnings=warnings)
        return self.report(sync_id)

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


def load_tables(engine: Engine) -> ThreadTables:
    """Every live thread table into columns; rows naming unknown parts are left out."""
    with Session(engine) as session:

        def rows(*cols: Any) -> list[tuple]:
            return list(session.execute(select(*cols).order_by(*cols[:3])).all())

        plants = rows(ThreadPlant.code, ThreadPlant.name)
        part_rows = rows(
            ThreadPart.number,
            ThreadPart.name,
            ThreadPart.kind,
            ThreadPart.revision,
            ThreadPart.revisions,
            ThreadPart.safety,
            ThreadPart.regulated,
            ThreadPart.cost,
        )
        codes = [p[0] for p in plants]
        t = ThreadTables(plants=codes, plant_names=[p[1] for p in plants])
        pl = {c: i for i, c in enumerate(codes)}
        pid = {r[0]: i for i, r in enumerate(part_rows)}
        t.tables["parts"] = make_table(
            "parts",
            **_columns(
                part_rows,
                ["number", "name", "kind", "revision", "revisions", "safety", "regulated", "cost"],
            ),
        )

        def known(*values: str) -> bool:
            return all(v in pid for v in values)

        ebom = [
            (pid[p], pid[c], q)
            for p, c, q in rows(ThreadEbom.parent, ThreadEbom.child, ThreadEbom.qty)
            if known(p, c)
        ]
        t.tables["ebom"] = make_table("ebom", **_columns(ebom, ["parent", "child", "qty"]))
        mbom = [
            (pl[a], pid[p], pid[c], r, q)
            for a, p, c, r, q in rows(
                ThreadMbom.plant,
                ThreadMbom.parent,
                ThreadMbom.child,
                ThreadMbom.rev,
                ThreadMbom.qty,
            )
            if a in pl and known(p, c)
        ]
        t.tables["mbom"] = make_table(
            "mbom", **_columns(mbom, ["plant", "parent", "child", "rev", "qty"])
        )
        op_rows = [
            r
            for r in rows(
                ThreadOperation.plant,
                ThreadOperation.routing,
                ThreadOperation.op_no,
                ThreadOperation.part,
                ThreadOperation.work_center,
                ThreadOperation.std_time,
                ThreadOperation.description,
            )
            if r[0] in pl and known(r[3])
        ]
        op_id = {(r[0], r[1], r[2]): i for i, r in enumerate(op_rows)}
        t.tables["ops"] = make_table(
            "ops",
            **_columns(
                [(pl[a], rt, pid[p], no, wc, st, d) for a, rt, no, p, wc, st, d in op_rows],
                ["plant", "routing", "part", "op_no", "work_center", "std_time", "description"],
            ),
        )
        op_parts = [
            (op_id[(a, rt, no)], pid[p])
            for a, rt, no, p in rows(
                ThreadOperationPart.plant,
                ThreadOperationPart.routing,
                ThreadOperationPart.op_no,
                ThreadOperationPart.part,
            )
            if (a, rt, no) in op_id and known(p)
        ]
        t.tables["op_parts"] = make_table("op_parts", **_columns(op_parts, ["op", "part"]))
        wi_rows = [
            r
            for r in rows(
                ThreadWorkInstruction.plant,
                ThreadWorkInstruction.id,
                ThreadWorkInstruction.routing,
                ThreadWorkInstruction.op_no,
                ThreadWorkInstruction.revision,
                ThreadWorkInstruction.status,
                ThreadWorkInstruction.title,
            )
            if r[0] in pl
        ]
        wi_id = {(r[0], r[1]): i for i, r in enumerate(wi_rows)}
        t.tables["wis"] = make_table(
            "wis",
            **_columns(
                [
                    (i, pl[a], op_id.get((a, rt, no), -1), rev, st, ti)
                    for a, i, rt, no, rev, st, ti in wi_rows
                ],
                ["id", "plant", "op", "revision", "status", "title"],
            ),
        )
        wi_parts = [
            (wi_id[(a, w)], pid[p], r)
            for a, w, p, r in rows(
                ThreadWiPart.plant, ThreadWiPart.wi, ThreadWiPart.part, ThreadWiPart.rev
            )
            if (a, w) in wi_id and known(p)
        ]
        t.tables["wi_parts"] = make_table("wi_parts", **_columns(wi_parts, ["wi", "part", "rev"]))
        plan_rows = [
            r
            for r in rows(
                ThreadInspectionPlan.plant,
                ThreadInspectionPlan.id,
                ThreadInspectionPlan.part,
                ThreadInspectionPlan.part_rev,
                ThreadInspectionPlan.revision,
            )
            if r[0] in pl and known(r[2])
        ]
        plan_id = {(r[0], r[1]): i for i, r in enumerate(plan_rows)}
        t.tables["plans"] = make_table(
            "plans",
            **_columns(
                [(i, pl[a], pid[p], pr, rev) for a, i, p, pr, rev in plan_rows],
                ["id", "plant", "part", "part_rev", "revision"],
            ),
        )
        chars = [
            (plan_id[(a, p)], i, n, k, s)
            for a, p, i, n, k, s in rows(
                ThreadCharacteristic.plant,
                ThreadCharacteristic.plan,
                ThreadCharacteristic.id,
                ThreadCharacteristic.name,
                ThreadCharacteristic.key,
                ThreadCharacteristic.safety,
            )
            if (a, p) in plan_id
        ]
        t.tables["chars"] = make_table(
            "chars", **_columns(chars, ["plan", "id", "name", "key", "safety"])
        )
        eq_rows = [
            r
            for r in rows(
                ThreadEquipment.plant,
                ThreadEquipment.id,
                ThreadEquipment.work_center,
                ThreadEquipment.name,
            )
            if r[0] in pl
        ]
        eq_id = {(r[0], r[1]): i for i, r in enumerate(eq_rows)}
        t.tables["equipment"] = make_table(
            "equipment",
            **_columns(
                [(i, pl[a], wc, n) for a, i, wc, n in eq_rows],
                ["id", "plant", "work_center", "name"],
            ),
        )
        nc = [
            (i, pl[a], eq_id[(a, e)], op_id.get((a, rt, no), -1), pid[p], rev)
            for a, i, e, rt, no, p, rev in rows(
                ThreadNcProgram.plant,
                ThreadNcProgram.id,
                ThreadNcProgram.equipment,
                ThreadNcProgram.routing,
                ThreadNcProgram.op_no,
                ThreadNcProgram.part,
                ThreadNcProgram.revision,
            )
            if (a, e) in eq_id and known(p)
        ]
        t.tables["nc"] = make_table(
            "nc", **_columns(nc, ["id", "plant", "equipment", "op", "part", "revision"])
        )
        orders = [
            (i, pl[a], pid[p], q, d, s, c)
            for a, i, p, q, d, s, c in rows(
                ThreadProductionOrder.plant,
                ThreadProductionOrder.id,
                ThreadProductionOrder.part,
                ThreadProductionOrder.qty,
                ThreadProductionOrder.due,
                ThreadProductionOrder.status,
                ThreadProductionOrder.critical,
            )
            if a in pl and known(p)
        ]
        t.tables["orders"] = make_table(
            "orders",
            **_columns(orders, ["id", "plant", "part", "qty", "due", "status", "critical"]),
        )
        inv = [
            (pl[a], pid[p], r, loc, q, c)
            for a, p, r, loc, q, c in rows(
                ThreadInventory.plant,
                ThreadInventory.part,
                ThreadInventory.rev,
                ThreadInventory.location,
                ThreadInventory.qty,
                ThreadInventory.cost,
            )
            if a in pl and known(p)
        ]
        t.tables["inventory"] = make_table(
            "inventory", **_columns(inv, ["plant", "part", "rev", "location", "qty", "cost"])
        )
        pur = [
            (i, pl[a], s, pid[p], r, q, d)
            for a, i, s, p, r, q, d in rows(
                ThreadPurchaseOrder.plant,
                ThreadPurchaseOrder.id,
                ThreadPurchaseOrder.supplier,
                ThreadPurchaseOrder.part,
                ThreadPurchaseOrder.rev,
                ThreadPurchaseOrder.qty,
                ThreadPurchaseOrder.due,
            )
            if a in pl and known(p)
        ]
        t.tables["purchases"] = make_table(
            "purchases", **_columns(pur, ["id", "plant", "supplier", "part", "rev", "qty", "due"])
        )
        quals = [
            (o, pl[a], op_id[(a, rt, no)])
            for a, o, rt, no in rows(
                ThreadQualification.plant,
                ThreadQualification.operator,
                ThreadQualification.routing,
                ThreadQualification.op_no,
            )
            if (a, rt, no) in op_id
        ]
        t.tables["quals"] = make_table("quals", **_columns(quals, ["operator", "plant", "op"]))
    return t


def _columns(rows: list[tuple], names: list[str]) -> dict[str, list[Any]]:
    if not rows:
        return {n: [] for n in names}
    return {n: [r[i] for r in rows] for i, n in enumerate(names)}


class IndexCache:
    """The committed thread's index, rebuilt only when the thread's version moves."""

    def __init__(self, store: ThreadStore) -> None:
        self.store = store
        self._current: tuple[int, Any] | None = None
        self._lock = threading.Lock()

    def current(self) -> tuple[int, Any]:
        from domain.thread_index import ThreadIndex

        with self._lock:
            version = self.store.state().version
            if self._current is None or self._current[0] != version:
                version, tables = self.store.load()
                self._current = (version, ThreadIndex(tables))
            return self._current
