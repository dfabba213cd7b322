"""Issue 10: a record an auditor accepts. The audit tables are append-only in the database
(SQLite triggers, PostgreSQL grants for the role changeflow runs as); every kind of tampering by
someone who gets past that (edit, delete, reorder, insert, a rewritten tail, truncation) is found
and the record it hit named; `changeflow audit verify` exits 1 then, 0 when intact."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from infra.audit_key import KEY_ENV, new_private_b64, private_key
from store.audit.anchors import anchor, verify_store
from store.audit.immutable import secure_postgres
from store.audit.read import verify_chain
from store.audit.trail import _digest, append_event
from store.db import get_engine
from tests.support.db import migrated_engine
from tests.support.postgres import throwaway_postgres
from tests.support.tamper import tamper

KEY = {KEY_ENV: new_private_b64()}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Engine]:
    if request.param == "sqlite":
        yield migrated_engine(f"sqlite:///{tmp_path_factory.mktemp('audit') / 'cf.db'}")
        return
    with throwaway_postgres() as url:
        eng = migrated_engine(url)
        yield eng
        eng.dispose()


def chain(engine: Engine, change_id: str, n: int = 6) -> None:
    for i in range(1, n + 1):
        append_event(
            engine,
            change_id=change_id,
            event_key=f"{change_id}:{i}",
            actor="changeflow",
            action=f"step.{i}",
            detail={"i": i},
            workflow_id=change_id,
            run_id="run-1",
        )


def test_records_are_append_only_for_changeflow(engine: Engine) -> None:
    chain(engine, "T-RO", 2)
    if engine.dialect.name == "sqlite":  # PostgreSQL: the grants test below
        for sql in ("UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as c:
                c.execute(text(sql))
    assert verify_chain(engine, "T-RO").intact


@pytest.mark.parametrize(
    ("kind", "first_broken", "says"),
    [
        ("edit", 3, "altered"),
        ("delete", 4, "missing"),
        ("reorder", 2, "does not follow"),
        ("insert", 4, "does not follow"),
    ],
)
def test_each_kind_of_tampering_is_found_at_its_record(
    engine: Engine, kind: str, first_broken: int, says: str
) -> None:
    cid = f"T-{kind.upper()}-{engine.dialect.name}"
    chain(engine, cid)
    where = f"change_id = '{cid}'"
    if kind == "edit":
        tamper(engine, f"UPDATE audit_event SET detail = '{{\"i\": 99}}' WHERE {where} AND seq = 3")
    elif kind == "delete":
        tamper(engine, f"DELETE FROM audit_event WHERE {where} AND seq = 3")
    elif kind == "reorder":
        tamper(engine, f"UPDATE audit_event SET seq = -2 WHERE {where} AND seq = 2")
        tamper(engine, f"UPDATE audit_event SET seq = 2 WHERE {where} AND seq = 3")
        tamper(engine, f"UPDATE audit_event SET seq = 3 WHERE {where} AND seq = -2")
    else:  # a forged record slipped in as number 3, correctly hashed onto record 2
        for seq in range(6, 2, -1):
            tamper(engine, f"UPDATE audit_event SET seq = {seq + 1} WHERE {where} AND seq = {seq}")
        with engine.connect() as c:
            prev = c.execute(
                text(f"SELECT hash FROM audit_event WHERE {where} AND seq = 2")
            ).scalar_one()
        at = datetime.now(UTC)
        forged = _digest(prev, cid, 3, at, "eng.kim", "approval.approve", "{}")
        tamper(
            engine,
            "INSERT INTO audit_event (change_id, seq, event_key, at, actor, action, detail, "
            f"prev_hash, hash) VALUES ('{cid}', 3, '{cid}:forged', '{at.isoformat()}', "
            f"'eng.kim', 'approval.approve', '{{}}', '{prev}', '{forged}')",
        )
    check = verify_chain(engine, cid)
    assert not check.intact and check.first_broken == first_broken, check
    assert any(says in p for p in check.problems), check.problems


def test_a_truncation_is_found_by_the_signed_checkpoint(engine: Engine) -> None:
    key = private_key(KEY)
    cid = f"T-TAIL-{engine.dialect.name}"
    chain(engine, cid)
    anchor(engine, key)
    assert verify_store(engine, key.public_key(), cid).intact
    # truncation: the last two records removed; what is left still chains correctly
    tamper(engine, f"DELETE FROM audit_event WHERE change_id = '{cid}' AND seq > 4")
    assert verify_chain(engine, cid).intact
    result = verify_store(engine, key.public_key(), cid)
    assert not result.intact and any("record 6" in p and "truncated" in p for p in result.problems)
    # an anchor signed by another key does not count
    other = private_key({KEY_ENV: new_private_b64()})
    assert any("not signed" in p for p in verify_store(engine, other.public_key()).problems)


def test_audit_verify_exits_0_when_intact_and_1_naming_the_record(
    tmp_path: Path, monkeypatch
) -> None:
    from starter.cli.main import app

    url = f"sqlite:///{tmp_path / 'cf.db'}"
    engine = migrated_engine(url)
    chain(engine, "T-CLI")
    monkeypatch.setenv("CHANGEFLOW_DATABASE_URL", url)
    monkeypatch.setenv(KEY_ENV, KEY[KEY_ENV])
    anchor(engine, private_key(KEY))
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output, ok.output
    tamper(engine, "UPDATE audit_event SET actor = 'someone' WHERE seq = 5")
    broken = runner.invoke(app, ["audit", "verify", "T-CLI"])
    assert broken.exit_code == 1, broken.output
    assert "first broken record 5" in broken.output and "altered" in broken.output


def test_on_postgresql_the_app_role_can_append_but_never_change_a_record() -> None:
    with throwaway_postgres() as superuser_url:
        admin = create_engine(superuser_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("CREATE ROLE cf_owner LOGIN"))
            c.execute(text("CREATE ROLE cf_app LOGIN"))
            c.execute(text("GRANT CREATE, USAGE ON SCHEMA public TO cf_owner"))
        owner_url = superuser_url.replace("postgres@", "cf_owner@")
        app_url = superuser_url.replace("postgres@", "cf_app@")
        owner = create_engine(owner_url)
        statements = secure_postgres(owner, "cf_app")
        assert any("GRANT SELECT, INSERT ON audit_event" in s for s in statements)
        app = get_engine(app_url)
        chain(app, "T-PG", 2)
        for sql in (
            "UPDATE audit_event SET actor = 'x'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
        ):
            with pytest.raises(DBAPIError, match="permission denied"), app.begin() as c:
                c.execute(text(sql))
        assert verify_chain(app, "T-PG").intact
        # the rest of the store works as usual for the app role
        from domain.approvals.decisions import Role
        from store.users import add_user, get_user

        add_user(app, "pg.user", Role.quality)
        assert get_user(app, "pg.user") is not None
        app.dispose()
        owner.dispose()
        admin.dispose()


def test_the_daily_checkpoint_signs_verifies_and_records_itself(
    tmp_path: Path, monkeypatch
) -> None:
    from activities.audit import AUDIT_CHAIN, AnchorActivities
    from activities.deps import ActivityDeps
    from infra.settings import Settings
    from store.audit.read import read_events

    monkeypatch.setenv(KEY_ENV, KEY[KEY_ENV])
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'cf.db'}")
    migrated_engine(settings.db_url)  # `changeflow store upgrade`: the worker needs it done
    deps = ActivityDeps.from_settings(settings)
    chain(deps.engine, "T-DAILY")
    first = AnchorActivities(deps)._anchor()
    assert first["intact"] and first["signed"] and first["checked_against_anchor"] is None
    tamper(deps.engine, "DELETE FROM audit_event WHERE change_id = 'T-DAILY' AND seq = 6")
    second = AnchorActivities(deps)._anchor()
    assert not second["intact"] and second["checked_against_anchor"] == first["anchor"]
    assert any("T-DAILY: record 6" in p for p in second["problems"])
    recorded = read_events(deps.engine, AUDIT_CHAIN)
    assert [e.action for e in recorded] == ["audit.anchored", "audit.anchored"]
    assert recorded[-1].detail["intact"] is False
