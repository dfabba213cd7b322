"""The store on SQLite and on a throwaway PostgreSQL: artifacts, the audit chain, users."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domain.approvals import Role
from domain.impact import ImpactReport
from store.artifacts import artifact_id, latest_artifact_id, load_artifact, save_artifact
from store.audit import append_event, read_events, verify_chain
from store.db import get_engine
from store.users import UserError, add_user, list_users, user_for_token
from tests.fixtures_data import assess_demo, bracket_request
from tests.postgres import throwaway_postgres


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("store") / "changeflow.db"
        yield get_engine(f"sqlite:///{path}")
        return
    with throwaway_postgres() as url:
        eng = get_engine(url)
        yield eng
        eng.dispose()


def test_artifacts_roundtrip_and_are_idempotent(engine: Engine) -> None:
    report = assess_demo("ECO-S1", bracket_request())
    ident = artifact_id("ECO-S1", "impact", 1)
    assert ident == artifact_id("ECO-S1", "impact", 1) != artifact_id("ECO-S1", "impact", 2)
    save_artifact(engine, artifact=ident, change_id="ECO-S1", kind="impact", content=report)
    save_artifact(engine, artifact=ident, change_id="ECO-S1", kind="impact", content=report)
    loaded = load_artifact(engine, ident, ImpactReport)
    assert loaded == report
    assert latest_artifact_id(engine, "ECO-S1", "impact") == ident
    assert load_artifact(engine, "missing", ImpactReport) is None


def test_audit_chain_is_idempotent_and_tamper_evident(engine: Engine) -> None:
    for n in range(5):
        append_event(
            engine,
            change_id="ECO-A",
            event_key=f"ECO-A:{n}",
            actor="changeflow",
            action=f"step.{n}",
            detail={"n": n},
        )
    append_event(
        engine,
        change_id="ECO-A",
        event_key="ECO-A:2",
        actor="changeflow",
        action="step.2",
        detail={"n": 2},
    )  # a retried activity
    events = read_events(engine, "ECO-A")
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert verify_chain(engine, "ECO-A").intact
    with Session(engine) as session:
        session.execute(
            text(
                "UPDATE audit_event SET detail = '{\"n\": 99}' "
                "WHERE change_id = 'ECO-A' AND seq = 3"
            )
        )
        session.commit()
    check = verify_chain(engine, "ECO-A")
    assert not check.intact and any("event 3" in p and "altered" in p for p in check.problems)
    with Session(engine) as session:
        session.execute(text("DELETE FROM audit_event WHERE change_id = 'ECO-A' AND seq = 4"))
        session.commit()
    assert any("missing" in p for p in verify_chain(engine, "ECO-A").problems)


def test_users_tokens_are_hashed_and_rotatable(engine: Engine) -> None:
    token = add_user(engine, "qa.lee", Role.quality)
    assert user_for_token(engine, token).name == "qa.lee"
    assert user_for_token(engine, "cf_wrong") is None
    with pytest.raises(UserError, match="already exists"):
        add_user(engine, "qa.lee", Role.quality)
    with pytest.raises(UserError, match="needs --plant"):
        add_user(engine, "someone", Role.production)
    rotated = add_user(engine, "qa.lee", Role.quality, rotate=True)
    assert user_for_token(engine, token) is None
    assert user_for_token(engine, rotated).role == Role.quality
    with Session(engine) as session:
        stored = session.execute(text("SELECT token_hash FROM app_user")).scalars().all()
    assert rotated not in stored
    assert "qa.lee" in {u.name for u in list_users(engine)}
