"""Audit records are append-only in the database itself, not only in changeflow's code: on
SQLite, triggers refuse UPDATE, DELETE and INSERT OR REPLACE; on PostgreSQL, the tables belong to
an owner role and the role changeflow runs as may only SELECT and INSERT them (`changeflow store
secure`)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

APPEND_ONLY = ("audit_event", "audit_anchor")
# what a new row may not share with a recorded one (INSERT OR REPLACE would replace that one)
_KEYS = {
    "audit_event": "id = NEW.id OR event_key = NEW.event_key OR "
    "(change_id = NEW.change_id AND seq = NEW.seq)",
    "audit_anchor": "id = NEW.id",
}


def sqlite_triggers() -> list[str]:
    """The triggers that make the audit tables append-only on SQLite: UPDATE, DELETE and an
    INSERT that would replace a recorded row (INSERT OR REPLACE deletes without firing DELETE
    triggers) are refused. The store's baseline migration installs the same."""
    statements = []
    for table in APPEND_ONLY:
        refusal = (
            f"SELECT RAISE(ABORT, '{table} is append-only: audit records are never changed or "
            "removed')"
        )
        for verb in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN {refusal}; END"
            )
        statements.append(
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {_KEYS[table]}) BEGIN {refusal}; END"
        )
    return statements


def protect_sqlite(engine: Engine) -> None:
    """Install the append-only triggers (idempotent); `changeflow store upgrade` does it."""
    with engine.begin() as connection:
        for statement in sqlite_triggers():
            connection.execute(text(statement))


def secure_postgres(owner: Engine, app_role: str) -> list[str]:
    """As the owner role: bring the store to head (the migrations), then let `app_role` read
    and append the audit tables and use the others. Returns the statements run (for the
    operator's record)."""
    from store.migrate import target_metadata, upgrade

    if not app_role.replace("_", "").isalnum():
        raise ValueError(f"not a role name: {app_role!r}")
    upgrade(owner)
    others = [t.name for t in target_metadata().sorted_tables if t.name not in APPEND_ONLY]
    statements = [f'GRANT USAGE ON SCHEMA public TO "{app_role}"']
    for table in APPEND_ONLY:
        statements += [
            f'REVOKE ALL ON {table} FROM PUBLIC, "{app_role}"',
            f'GRANT SELECT, INSERT ON {table} TO "{app_role}"',
        ]
    statements += [f'GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO "{app_role}"' for t in others]
    statements.append(f'GRANT SELECT ON alembic_version TO "{app_role}"')  # the head check
    statements.append(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app_role}"')
    with owner.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    return statements
