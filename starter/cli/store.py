"""`changeflow store upgrade`: the one step that creates or changes the store's tables (Alembic's
migrations, store/migrate.py), before the API and the workers start; they refuse a store that is
not at head. `changeflow store secure`: for a DBA, once, on PostgreSQL: the tables are created by
an owner role, and the role changeflow runs as may only read and append the audit tables."""

from __future__ import annotations

import typer
from sqlalchemy import create_engine

from starter.cli.common import err, fail

app = typer.Typer(help="The store (database).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    database_url: str | None = typer.Option(
        None, help="the store's URL (default: the settings': CHANGEFLOW_DATABASE_URL or the home's)"
    ),
) -> None:
    """Bring the store's schema to head: creates it in an empty database, adds what a store made
    by an earlier changeflow lacks, keeps every row; nothing to do when at head. Run it before
    starting the API and the workers after installing a new changeflow (`changeflow up` does)."""
    from infra.settings import SettingsError, load_settings
    from store.migrate import shown_url
    from store.migrate import upgrade as upgrade_store

    try:
        url = database_url or load_settings().db_url
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    try:
        done = upgrade_store(url)
    except Exception as exc:  # the database's own message is what the operator needs
        raise fail(f"could not upgrade the store at {shown_url(url)}: {exc}") from exc
    err.print(done.summary())


@app.command("secure")
def secure(
    owner_url: str = typer.Option(
        ..., envvar="CHANGEFLOW_OWNER_DATABASE_URL", help="PostgreSQL URL of the owner role"
    ),
    app_role: str = typer.Option(..., help="the role the API and workers connect as"),
) -> None:
    """Create the tables as the owner and grant the app role SELECT and INSERT only on the
    audit tables (UPDATE, DELETE, TRUNCATE refused), and use of the others."""
    from store.audit.immutable import secure_postgres

    if not owner_url.startswith("postgresql"):
        raise fail("store secure is for PostgreSQL; SQLite's audit tables have triggers already")
    try:
        statements = secure_postgres(create_engine(owner_url), app_role)
    except Exception as exc:  # the database's own message is what the DBA needs
        raise fail(f"could not secure the store: {exc}") from exc
    for statement in statements:
        err.print(statement)
    err.print(f"{app_role} may append to the audit tables and never change or remove a record")
