"""The store on SQLite and on a throwaway PostgreSQL: artifacts, the audit chain, users."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from connectors.sim.dataset import dataset, tables_rows
from connectors.sim.seed import build_demo_thread
from domain.approvals import Role
from domain.impact import ImpactReport
from domain.impact_engine import assess
from domain.thread_index import ThreadIndex
from domain.thread_tables import from_snapshot
from store.artifacts import artifact_id, latest_artifact_id, load_artifact, save_artifact
from store.audit import append_event, read_events, verify_chain
from store.db import get_engine
from store.thread_store import CyclicBomError, ThreadStore
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


def _stage_demo(store: ThreadStore, sync_id: str) -> None:
    by_kind: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for _system, plant, kind, _key, doc in tables_rows(dataset("demo")):
        by_kind[(kind, plant)].append(doc)
    for (kind, plant), docs in by_kind.items():
        store.stage(sync_id, kind, plant, docs)


def test_thread_full_incremental_cycle_and_round_trip(engine: Engine) -> None:
    store = ThreadStore(engine)
    sync_id, since = store.begin("incremental")  # nothing committed yet: becomes a full sync
    assert since is None and store.run(sync_id).mode == "full"
    _stage_demo(store, sync_id)
    _stage_demo(store, sync_id)  # a retried fetch stages the same pages twice: harmless
    report = store.commit(sync_id)
    assert report.status == "committed" and report.version == 1 and not report.warnings
    version, tables = store.load()
    reference = from_snapshot(build_demo_thread())
    assert version == 1 and tables.counts() == reference.counts()
    same = assess("ECO-T", bracket_request(), ThreadIndex(tables))
    assert same.counts() == assess("ECO-T", bracket_request(), ThreadIndex(reference)).counts()

    # incremental: a changed routing replaces its operations; a changed part is upserted
    sync_id, since = store.begin("incremental")
    assert since is not None
    store.stage(
        sync_id,
        "part",
        "",
        [
            {
                "number": "100-300",
                "name": "Isolator pad, EPDM",
                "kind": "component",
                "current_revision": "B",
                "revisions": [{"revision": "A"}, {"revision": "B"}],
            }
        ],
    )
    store.stage(
        sync_id,
        "routing",
        "DET",
        [
            {
                "id": "R-DET-500-100",
                "plant": "DET",
                "part": "500-100",
                "operations": [
                    {
                        "op_no": 10,
                        "work_center": "DET-WC09",
                        "description": "press",
                        "parts": ["100-300"],
                    }
                ],
            }
        ],
    )
    assert store.commit(sync_id).version == 2
    _, tables = store.load()
    parts = dict(zip(tables["parts"]["number"], tables["parts"]["revision"], strict=True))
    assert parts["100-300"] == "B"
    ops = tables["ops"]
    routing_ops = [
        int(n) for r, n in zip(ops["routing"], ops["op_no"], strict=True) if r == "R-DET-500-100"
    ]
    assert routing_ops == [10]

    # a cycle is refused whole and the previous thread stays
    sync_id, _ = store.begin("incremental")
    store.stage(sync_id, "ebom_line", "", [{"parent": "100-200", "child": "ED-1000"}])
    store.stage(
        sync_id,
        "part",
        "",
        [{"number": "100-300", "name": "must not land", "current_revision": "C"}],
    )
    with pytest.raises(CyclicBomError, match="100-200") as refused:
        store.commit(sync_id)
    assert refused.value.cycle[0] == refused.value.cycle[-1]
    assert store.report(sync_id).status == "failed"
    version, after = store.load()
    assert version == 2
    assert (
        dict(zip(after["parts"]["number"], after["parts"]["revision"], strict=True))["100-300"]
        == "B"
    )

    # a reference to a part PLM does not know is reported, not fatal
    sync_id, _ = store.begin("incremental")
    store.stage(sync_id, "ebom_line", "", [{"parent": "200-100", "child": "999-GHOST"}])
    assert any("999-GHOST" in w for w in store.commit(sync_id).warnings)
