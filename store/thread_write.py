"""Writing many thread rows at once: plain bulk INSERT for a full sync (the driver's executemany),
upsert for an incremental one (SQLite and PostgreSQL), rows keyed by their primary key."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel

BATCH = 500


@functools.cache
def pk(table: type[SQLModel]) -> list[str]:
    return [c.name for c in table.__table__.primary_key.columns]


@functools.cache
def pk_of(table: type[SQLModel]) -> Callable[[dict[str, Any]], Any]:
    """A row's primary key (a value or a tuple), read at C speed."""
    return operator.itemgetter(*pk(table))


def insert_all(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Plain INSERT of many rows through the driver's executemany (no per-row statement
    compilation): the bulk path of a full sync."""
    if not rows:
        return
    columns = list(table.__table__.columns)
    defaults = [
        c.default.arg if c.default is not None and c.default.is_scalar else None for c in columns
    ]
    names = [c.name for c in columns]
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    quoted = ", ".join('"' + n + '"' for n in names)
    marks = ", ".join([mark] * len(names))
    sql = f"INSERT INTO {table.__tablename__} ({quoted}) VALUES ({marks})"
    complete = operator.itemgetter(*names)  # C speed when a row has every column
    values = []
    for r in rows:
        try:
            values.append(complete(r))
        except KeyError:
            values.append(tuple(r.get(n, d) for n, d in zip(names, defaults, strict=True)))
    if len(names) == 1:
        values = [(v,) for v in values]
    connection = session.connection()
    for start in range(0, len(values), 20_000):
        connection.exec_driver_sql(sql, values[start : start + 20_000])


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
