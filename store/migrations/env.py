"""Alembic's environment for the store. Run by store/migrate.py (`changeflow store upgrade`) with
a connection in `config.attributes`, or by the alembic command line for writing a migration
(`alembic -c store/migrations/alembic.ini revision --autogenerate -m "..."`), which connects to
the configured store (CHANGEFLOW_DATABASE_URL, or the home's SQLite)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from store.migrate import target_metadata

config = context.config


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata(),
        compare_type=True,
        render_as_batch=True,  # SQLite alters a table by copying it: autogenerate says so
        **kwargs,  # type: ignore[arg-type]
    )


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """`--sql`: the statements, printed for a DBA, not run."""
    _configure(url=config.get_main_option("sqlalchemy.url") or _settings_url())
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # store/migrate.py: its transaction, its lock
        _run(connection)
        return
    from store.db import get_engine

    engine = get_engine(config.get_main_option("sqlalchemy.url") or _settings_url())
    with engine.begin() as connection:
        _run(connection)


def _settings_url() -> str:
    from infra.settings import load_settings

    return load_settings().db_url


if context.is_offline_mode():
    run_offline()
else:
    run_online()
