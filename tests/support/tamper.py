"""Tampering as someone with direct access to the database would."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from store.audit.immutable import protect_sqlite


def tamper(engine: Engine, sql: str) -> None:
    """What someone with direct access to the database does: on SQLite, drop the triggers that
    keep the audit tables append-only first (PostgreSQL here runs as its superuser)."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for name in connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars():
                connection.execute(text(f"DROP TRIGGER {name}"))
        connection.execute(text(sql))
    if engine.dialect.name == "sqlite":
        protect_sqlite(engine)
