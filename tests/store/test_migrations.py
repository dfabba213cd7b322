"""The store's schema comes from Alembic's migrations, run in one explicit step (`changeflow store
upgrade`): from empty to head matching the models, idempotent, a store made before migrations
kept and brought to head; processes refuse a store that is not at head, naming the command; the
audit tables stay append-only on SQLite after the upgrade. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from typer.testing import CliRunner

from domain.approvals.decisions import Role
from infra.settings import Settings
from store.audit.read import read_events, verify_chain
from store.audit.trail import append_event
from store.db import get_engine, normalize_url
from store.migrate import (
    StoreNotAtHeadError,
    config,
    differences,
    head,
    require_head,
    target_metadata,
    upgrade,
)
from store.users import add_user, list_users, user_for_token
from tests.support.postgres import throwaway_postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of its own for each test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'changeflow.db'}"
    server: str = request.getfixturevalue("postgres")
    name = f"cf_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{server.rsplit('/', 1)[0]}/{name}"


def baseline() -> ModuleType:
    """The baseline revision's module: its frozen schema is what changeflow made before
    migrations."""
    return ScriptDirectory.from_config(config()).get_revision("0001").module


def shape(engine: Engine) -> dict[str, object]:
    """What a store holds besides rows: tables with their columns and indexes, triggers."""
    found = inspect(engine)
    tables = {
        name: (
            [c["name"] for c in found.get_columns(name)],
            sorted(i["name"] for i in found.get_indexes(name)),
        )
        for name in found.get_table_names()
    }
    triggers: list[str] = []
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            triggers = sorted(
                connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).scalars()
            )
    return {"tables": tables, "triggers": triggers}


def events(engine: Engine, change_id: str, n: int = 3) -> None:
    for i in range(1, n + 1):
        append_event(
            engine,
            change_id=change_id,
            event_key=f"{change_id}:{i}",
            actor="changeflow",
            action=f"step.{i}",
            detail={"i": i},
        )


def test_upgrade_from_empty_reaches_head_and_matches_the_models(fresh_url: str) -> None:
    done = upgrade(fresh_url)
    assert (done.before, done.after, done.adopted) == (None, head(), False)
    assert "from empty to" in done.summary()
    engine = get_engine(fresh_url)
    assert set(target_metadata().tables) <= set(inspect(engine).get_table_names())
    assert differences(engine) == []  # Alembic's autogenerate: nothing to migrate
    require_head(engine)
    token = add_user(engine, "new.user", Role.quality)  # the store works as usual
    assert user_for_token(engine, token).name == "new.user"


def test_upgrading_twice_changes_nothing(fresh_url: str) -> None:
    upgrade(fresh_url)
    engine = get_engine(fresh_url)
    events(engine, "M-TWICE")
    before = shape(engine)
    again = upgrade(fresh_url)
    assert again.before == again.after == head() and not again.adopted
    assert "nothing to do" in again.summary()
    assert shape(engine) == before
    assert [e.seq for e in read_events(engine, "M-TWICE")] == [1, 2, 3]


def test_a_store_made_before_migrations_is_brought_to_head_keeping_its_rows(
    fresh_url: str,
) -> None:
    """What the earlier changeflow made at every engine creation: create_all of its models (the
    baseline's schema), on SQLite the UPDATE/DELETE triggers, no alembic_version."""
    engine = get_engine(fresh_url)
    baseline().schema().create_all(engine)
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            for verb in ("UPDATE", "DELETE"):
                connection.execute(
                    text(
                        f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON "
                        "audit_event BEGIN SELECT RAISE(ABORT, 'append-only'); END"
                    )
                )
    token = add_user(engine, "old.user", Role.engineering)
    events(engine, "M-OLD")
    with pytest.raises(StoreNotAtHeadError, match="changeflow store upgrade"):
        require_head(engine)
    done = upgrade(fresh_url)
    assert done.adopted and done.before is None and done.after == head()
    assert "made before migrations" in done.summary()
    require_head(engine)
    assert differences(engine) == []
    assert user_for_token(engine, token).name == "old.user"
    assert [e.seq for e in read_events(engine, "M-OLD")] == [1, 2, 3]
    assert verify_chain(engine, "M-OLD").intact
    events(engine, "M-OLD", 4)  # and it goes on
    assert verify_chain(engine, "M-OLD").intact
    if engine.dialect.name == "sqlite":
        assert "audit_event_no_replace" in shape(engine)["triggers"]


def test_an_older_store_gains_the_new_nullable_columns(tmp_path: Path) -> None:
    """A `.changeflow/changeflow.db` made before chain keys and token expiry: the upgrade adds
    the columns and tables it lacks, and its users keep working."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE app_user (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, "
            "role VARCHAR NOT NULL, plant VARCHAR, token_hash VARCHAR NOT NULL UNIQUE, "
            "created_at DATETIME NOT NULL)"
        )
        db.execute(
            "CREATE TABLE audit_event (id INTEGER PRIMARY KEY, change_id VARCHAR NOT NULL, "
            "seq INTEGER NOT NULL, event_key VARCHAR NOT NULL, at DATETIME NOT NULL, "
            "actor VARCHAR NOT NULL, action VARCHAR NOT NULL, detail TEXT NOT NULL, "
            "prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL)"
        )
        db.execute(
            "INSERT INTO app_user (name, role, token_hash, created_at) "
            "VALUES ('before.upgrade', 'quality', 'h', '2026-01-01 00:00:00')"
        )
    url = f"sqlite:///{path}"
    assert upgrade(url).adopted
    engine = get_engine(url)
    token = add_user(engine, "old.user", Role.quality)
    assert user_for_token(engine, token).name == "old.user"
    assert {"before.upgrade", "old.user"} <= {u.name for u in list_users(engine)}
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(audit_event)")}
    assert "chain_key" in columns
    assert "thread_state" in inspect(engine).get_table_names()


async def test_processes_refuse_a_store_that_is_not_at_head(tmp_path: Path) -> None:
    """The worker's activity dependencies and the API's start check the store and name the
    command; neither creates a table."""
    from activities.deps import ActivityDeps
    from starter.api.app import create_api

    url = f"sqlite:///{tmp_path / 'changeflow.db'}"
    settings = Settings(home=tmp_path, database_url=url)
    with pytest.raises(StoreNotAtHeadError, match="run `changeflow store upgrade`"):
        ActivityDeps.from_settings(settings)
    app = create_api(settings, client=object(), engine=get_engine(url))  # type: ignore[arg-type]
    with pytest.raises(StoreNotAtHeadError, match="changeflow store upgrade"):
        async with app.router.lifespan_context(app):
            pass
    assert inspect(get_engine(url)).get_table_names() == []  # nothing was created
    # a store at a revision this changeflow does not know (a newer one's, or an older one's)
    upgrade(url)
    with get_engine(url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'elsewhere'"))
    with pytest.raises(StoreNotAtHeadError, match=f"at revision elsewhere, not {head()}"):
        ActivityDeps.from_settings(settings)
    with get_engine(url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": head()})
    assert ActivityDeps.from_settings(settings).engine is get_engine(url)


def test_store_upgrade_command_creates_then_says_at_head(tmp_path: Path, monkeypatch) -> None:
    from starter.cli.main import app

    monkeypatch.setenv("CHANGEFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("CHANGEFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHANGEFLOW_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["store", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "from empty to" in first.output and str(tmp_path / "changeflow.db") in first.output
    second = runner.invoke(app, ["store", "upgrade"])
    assert second.exit_code == 0 and f"is at head ({head()})" in second.output
    broken = runner.invoke(app, ["store", "upgrade", "--database-url", "postgresql://nobody@/"])
    assert broken.exit_code == 1 and "could not upgrade the store" in broken.output


def test_audit_tables_stay_append_only_on_sqlite_after_the_upgrade(tmp_path: Path) -> None:
    """INSERT OR REPLACE (which deletes without firing DELETE triggers), UPDATE and DELETE are
    refused by the database itself; appending works, and a second row for a recorded seq is
    still an IntegrityError (what a concurrent append retries on)."""
    url = f"sqlite:///{tmp_path / 'changeflow.db'}"
    upgrade(url)
    engine = get_engine(url)
    events(engine, "M-RO", 2)
    with engine.connect() as connection:
        first = connection.execute(text("SELECT id FROM audit_event WHERE seq = 1")).scalar_one()
    columns = "change_id, seq, event_key, at, actor, action, detail, prev_hash, hash"
    forged = "'M-RO', 1, 'M-RO:1', '2026-01-01', 'mallory', 'x', '{}', '', ''"
    refused = [
        f"INSERT OR REPLACE INTO audit_event (id, {columns}) VALUES ({first}, {forged})",
        f"REPLACE INTO audit_event ({columns}) VALUES ({forged})",
        "INSERT OR REPLACE INTO audit_anchor (id, at, heads, digest, key_id, signature) "
        "VALUES (1, '2026-01-01', '{}', 'd', 'k', 's')",
        "UPDATE audit_event SET actor = 'mallory'",
        "DELETE FROM audit_event",
    ]
    with engine.begin() as connection:  # an anchor to replace
        connection.execute(
            text(
                "INSERT INTO audit_anchor (id, at, heads, digest, key_id, signature) "
                "VALUES (1, '2026-01-02', '{}', 'd', 'k', 's')"
            )
        )
    for sql in refused:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(sql))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(f"INSERT INTO audit_event ({columns}) VALUES ({forged})"))
    events(engine, "M-RO", 3)
    recorded = read_events(engine, "M-RO")
    assert [e.actor for e in recorded] == ["changeflow"] * 3
    assert verify_chain(engine, "M-RO").intact
