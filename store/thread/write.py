"""Writing many thread rows at once: a full sync's staged rows inserted by the database itself
(INSERT ... SELECT over the staged JSON, on SQLite and PostgreSQL), upsert for an incremental
one; rows keyed by their primary key."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel

from store.thread.rows import columns

BATCH = 500


@functools.cache
def pk(table: type[SQLModel]) -> list[str]:
    return [c.name for c in table.__table__.primary_key.columns]


@functools.cache
def pk_of(table: type[SQLModel]) -> Callable[[dict[str, Any]], Any]:
    """A row's primary key (a value or a tuple), read at C speed."""
    return operator.itemgetter(*pk(table))


def insert_staged(session: Session, table: type[SQLModel], sync_id: str) -> None:
    """Insert a run's staged rows of `table` (thread_stage pages of kind = the table's name,
    each a JSON array of rows in column order) without a round trip through Python: the
    database reads the JSON. Of rows with the same key, the last staged one wins."""
    dialect = session.get_bind().dialect
    names = columns(table)
    quoted = ", ".join(f'"{n}"' for n in names)
    where = "s.sync_id = :sync_id AND s.kind = :kind"
    if dialect.name == "sqlite":
        picks = ", ".join(f"e.value ->> {i}" for i in range(len(names)))
        sql = (
            f"INSERT OR REPLACE INTO {table.__tablename__} ({quoted}) SELECT {picks} "
            f"FROM thread_stage AS s, json_each(s.doc) AS e WHERE {where} ORDER BY s.id, e.key"
        )
    elif dialect.name == "postgresql":
        kinds = [c.type.compile(dialect=dialect) for c in table.__table__.columns]
        picks = ", ".join(
            f'CAST(e.value ->> {i} AS {kind}) AS "{n}"'
            for i, (n, kind) in enumerate(zip(names, kinds, strict=True))
        )
        keys = ", ".join(f'"{k}"' for k in pk(table))
        sql = (
            f"INSERT INTO {table.__tablename__} ({quoted}) "
            f"SELECT DISTINCT ON ({keys}) {quoted} FROM ("
            f"SELECT {picks}, s.id AS stage_id, e.n AS stage_n FROM thread_stage AS s "
            "CROSS JOIN LATERAL jsonb_array_elements(CAST(s.doc AS jsonb)) "
            f"WITH ORDINALITY AS e(value, n) WHERE {where}) AS staged "
            f"ORDER BY {keys}, stage_id DESC, stage_n DESC"
        )
    else:
        raise NotImplementedError(f"the thread store runs on SQLite or PostgreSQL, not {dialect}")
    session.execute(text(sql), {"sync_id": sync_id, "kind": table.__tablename__})


def upsert(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    keys = pk(table)
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
