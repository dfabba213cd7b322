"""A sync run's commit, inside its transaction: a full sync replaces the thread with the staged
rows (inserted by the database itself), an incremental one merges them (composite documents'
children replaced, rows upserted, news told apart from resent rows). A cyclic EBOM refuses the
run; references to parts PLM does not know are warnings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from pydantic_core import from_json
from sqlalchemy import delete, func, select, text, tuple_
from sqlmodel import Session, SQLModel

from domain.thread.index import BomGraph
from store.thread.rows import CHILDREN, staged_dicts
from store.thread.schema import (
    LIVE_TABLES,
    ThreadEbom,
    ThreadMbom,
    ThreadOperation,
    ThreadPart,
    ThreadStage,
)
from store.thread.write import BATCH, insert_staged, pk, pk_of, upsert


def _quiet(_phase: str) -> None:
    pass


PARENTS = "parents:"  # staged kind: the keys of composite documents whose children a run replaces
TABLES = {t.__tablename__: t for t in LIVE_TABLES}
Outcome = tuple[dict[str, int], list[str], bool]  # counts per table, warnings, news


class CyclicBomError(ValueError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__("the EBOM has a cycle: " + " -> ".join(cycle))
        self.cycle = cycle


def replace(session: Session, sync_id: str, lap: Callable[[str], None] = _quiet) -> Outcome:
    """A full sync: the thread becomes the staged rows, inserted by the database itself (each
    table's secondary indexes built once after its rows). `lap` is told each phase's end."""
    kinds = set(
        session.execute(
            select(ThreadStage.kind).where(ThreadStage.sync_id == sync_id).distinct()
        ).scalars()
    )
    for table in reversed(LIVE_TABLES):
        session.execute(delete(table))
    lap("emptied_s")
    counts = {}
    connection = session.connection()
    # SQLite builds an index from sorted rows faster than it keeps it up row by row (a third
    # less time for the table); its readers see the last commit meanwhile. On PostgreSQL a
    # dropped index would lock the table's readers out until the commit: it stays.
    rebuild = connection.dialect.name == "sqlite"
    for table in LIVE_TABLES:
        if table.__tablename__ in kinds:
            indexes = list(table.__table__.indexes) if rebuild else []
            for index in indexes:
                index.drop(connection)
            insert_staged(session, table, sync_id)
            lap("inserted_s")
            for index in indexes:
                index.create(connection)
            lap("indexed_s")
            counts[table.__tablename__] = session.execute(
                select(func.count()).select_from(table)
            ).scalar_one()
            lap("counted_s")
    _check_cycles(_edges(session))
    lap("cycle_check_s")
    dangling = _dangling_all(session)
    lap("dangling_s")
    return counts, dangling, True


def merge(session: Session, sync_id: str) -> Outcome:
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
    news = bool(parents) or _brings_news(session, rows)
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


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


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
