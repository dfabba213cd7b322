"""Audit records are append-only in the database itself, not only in changeflow's code: on
SQLite, triggers refuse UPDATE and DELETE; on PostgreSQL, the tables belong to an owner role and
the role changeflow runs as may only SELECT and INSERT them (`changeflow store secure`)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

APPEND_ONLY = ("audit_event", "audit_anchor")


def protect_sqlite(engine: Engine) -> None:
    """Triggers that make the audit tables append-only (idempotent)."""
    with engine.begin() as connection:
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                connection.execute(
                    text(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} "
                        f"BEFORE {verb} ON {table} BEGIN "
                        f"SELECT RAISE(ABORT, '{table} is append-only: audit records are never "
                        f"changed or removed'); END"
                    )
                )


def secure_postgres(owner: Engine, app_role: str) -> list[str]:
    """As the owner role: create the tables, then let `app_role` read and append the audit
    tables and use the others. Returns the statements run (for the operator's record)."""
    if not app_role.replace("_", "").isalnum():
        raise ValueError(f"not a role name: {app_role!r}")
    SQLModel.metadata.create_all(owner)
    others = [t.name for t in SQLModel.metadata.sorted_tables if t.name not in APPEND_ONLY]
    statements = [f'GRANT USAGE ON SCHEMA public TO "{app_role}"']
    for table in APPEND_ONLY:
        statements += [
            f'REVOKE ALL ON {table} FROM PUBLIC, "{app_role}"',
            f'GRANT SELECT, INSERT ON {table} TO "{app_role}"',
        ]
    statements += [f'GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO "{app_role}"' for t in others]
    statements.append(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app_role}"')
    with owner.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    return statements
