"""The store on SQLite and on a throwaway PostgreSQL: artifacts, the audit chain, users."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from connectors.sim.dataset import dataset, tables_rows
from connectors.sim.seed import build_demo_thread
from domain.approvals.decisions import Role
from domain.impact.engine import assess
from domain.impact.report import ImpactReport
from domain.thread.index import ThreadIndex
from domain.thread.tables import from_snapshot
from store.artifacts import artifact_id, latest_artifact_id, load_artifact, save_artifact
from store.audit.read import read_events, verify_chain
from store.audit.trail import append_event
from store.db import get_engine
from store.thread.schema import ThreadStage
from store.thread.store import CyclicBomError, ThreadStore
from store.users import (
    UserError,
    add_user,
    get_user,
    list_users,
    revoke_user,
    set_role,
    user_for_token,
)
from tests.support.data import assess_demo, bracket_request
from tests.support.postgres import throwaway_postgres
from tests.support.tamper import tamper


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
    tamper(
        engine,
        "UPDATE audit_event SET detail = '{\"n\": 99}' WHERE change_id = 'ECO-A' AND seq = 3",
    )
    check = verify_chain(engine, "ECO-A")
    assert not check.intact and any("record 3" in p and "altered" in p for p in check.problems)
    tamper(engine, "DELETE FROM audit_event WHERE change_id = 'ECO-A' AND seq = 4")
    assert any("missing" in p for p in verify_chain(engine, "ECO-A").problems)


def test_a_batch_of_audit_events_is_one_transaction_and_each_event_counts_once(
    engine: Engine,
) -> None:
    """A step's events go in together: one already recorded (a retried batch) and one given
    twice are recorded once, the chain runs on without a gap, and a batch with an event for
    another change's chain is refused whole."""
    from store.audit.trail import ChainOwnedError, NewEvent, append_events
    from store.users import add_user

    add_user(engine, "ann.batch", Role.quality, full_name="Ann Batch")

    def event(n: int, chain_key: str = "batch-key", actor: str = "changeflow") -> NewEvent:
        return NewEvent(
            change_id="ECO-BATCH",
            event_key=f"ECO-BATCH:{n}",
            actor=actor,
            action=f"step.{n}",
            detail={"n": n},
            chain_key=chain_key,
        )

    first = append_events(engine, [event(1), event(2)])
    assert [e.seq for e in first] == [1, 2] and first[1].prev_hash == first[0].hash
    again = append_events(engine, [event(2), event(3, actor="ann.batch"), event(3), event(4)])
    assert [e.seq for e in again] == [2, 3, 3, 4]
    assert again[0] == first[1]  # answered as it was recorded
    assert again[1].actor_name == "Ann Batch"
    assert [e.seq for e in read_events(engine, "ECO-BATCH")] == [1, 2, 3, 4]
    assert verify_chain(engine, "ECO-BATCH").intact
    with pytest.raises(ChainOwnedError):
        append_events(engine, [event(5), event(6, chain_key="another-change")])
    assert len(read_events(engine, "ECO-BATCH")) == 4  # nothing of the refused batch


def test_what_a_plant_workflow_recorded_as_applied_is_read_back_from_the_trail(
    engine: Engine,
) -> None:
    """A plant workflow that ended without its result: the tasks it recorded as applied, with
    what each system held before, and none of another plant's or another change's."""
    from store.audit.read import applied_by

    def applied(change: str, workflow_id: str, task: str, action: str = "task.applied") -> None:
        append_event(
            engine,
            change_id=change,
            event_key=f"{workflow_id}:{task}:{action}",
            actor="changeflow",
            action=action,
            detail={"task_id": task, "before": {"rev": "B"}},
            workflow_id=workflow_id,
        )

    applied("ECO-PL", "ECO-PL.DET", "DET.ERP.mbom")
    applied("ECO-PL", "ECO-PL.DET", "DET.MES.wi", action="task.failed")
    applied("ECO-PL", "ECO-PL.MTY", "MTY.ERP.mbom")
    applied("ECO-PL", "ECO-PL.DET", "DET.QMS.plan")
    applied("ECO-OTHER", "ECO-PL.DET", "DET.LMS.course")  # not this change's chain
    assert applied_by(engine, "ECO-PL", "ECO-PL.DET") == [
        {"task_id": "DET.ERP.mbom", "before": {"rev": "B"}},
        {"task_id": "DET.QMS.plan", "before": {"rev": "B"}},
    ]
    assert applied_by(engine, "ECO-PL", "ECO-PL.BRN") == []


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


def test_a_full_sync_keeps_every_index_whether_it_commits_or_is_refused(engine: Engine) -> None:
    """On SQLite a full commit builds each table's indexes after its rows: they are there after
    it commits, and after a refused one (a cycle) with the thread as it was."""
    from sqlalchemy import inspect

    from store.thread.schema import LIVE_TABLES

    def indexes() -> set[str]:
        found = inspect(engine)
        return {i["name"] for t in LIVE_TABLES for i in found.get_indexes(t.__tablename__)}

    expected = {i.name for t in LIVE_TABLES for i in t.__table__.indexes}
    store = ThreadStore(engine)
    sync_id, _ = store.begin("full")
    _stage_demo(store, sync_id)
    version = store.commit(sync_id).version
    assert indexes() >= expected
    sync_id, _ = store.begin("full")
    _stage_demo(store, sync_id)
    store.stage(sync_id, "ebom_line", "", [{"parent": "100-200", "child": "ED-1000"}])
    with pytest.raises(CyclicBomError):
        store.commit(sync_id)
    assert indexes() >= expected
    assert store.load()[0] == version


def test_a_sync_under_way_is_joinable_only_if_it_began_after_the_last_write(
    engine: Engine,
) -> None:
    """A change's sync may wait for a run under way instead of starting its own: only a run
    that began after the last write to a system (its commit holds every write up to now), and
    within the freshness bound (a run left behind by a lost workflow is not waited for)."""
    store = ThreadStore(engine)
    sync_id, _ = store.begin("incremental")
    began = store.run(sync_id).started_at
    if began.tzinfo is None:
        began = began.replace(tzinfo=UTC)
    assert store.joinable(after=None, within_s=60).sync_id == sync_id
    assert store.joinable(after=began - timedelta(seconds=1), within_s=60).sync_id == sync_id
    assert store.joinable(after=began + timedelta(milliseconds=1), within_s=60) is None
    time.sleep(0.05)
    assert store.joinable(after=None, within_s=0.01) is None  # older than the bound
    store.fail(sync_id, "test over")
    assert store.joinable(after=None, within_s=60) is None  # over: nothing to wait for
    # changes arriving together: the first starts a run, the others wait for it
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        begun = list(pool.map(lambda _: store.begin_or_join("incremental", began, 60), range(8)))
    assert len({sync for sync, _since, _joined in begun}) == 1
    assert sorted(joined for _sync, _since, joined in begun) == [False] + [True] * 7
    store.fail(begun[0][0], "test over")


def test_an_older_store_gains_the_new_nullable_columns(tmp_path) -> None:
    """A `.changeflow/changeflow.db` made before chain keys and token expiry keeps working."""
    import sqlite3

    from store.db import get_engine

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
    engine = get_engine(f"sqlite:///{path}")
    token = add_user(engine, "old.user", Role.quality)
    assert user_for_token(engine, token).name == "old.user"
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(audit_event)")}
    assert "chain_key" in columns


def test_users_are_revoked_tokens_expire_and_rotation_keeps_the_role(engine: Engine) -> None:
    """Defect 10."""
    token = add_user(engine, "prod.ana", Role.production, "DET")
    revoke_user(engine, "prod.ana")
    assert user_for_token(engine, token) is None and get_user(engine, "prod.ana") is None
    assert next(u for u in list_users(engine) if u.name == "prod.ana").revoked_at is not None
    with pytest.raises(UserError, match="keeps the role"):
        add_user(engine, "prod.ana", Role.admin, rotate=True)
    again = add_user(engine, "prod.ana", Role.production, "DET", rotate=True)  # re-enabled
    assert user_for_token(engine, again).role == Role.production
    assert set_role(engine, "prod.ana", Role.quality) == ("production (DET)", "quality")
    assert user_for_token(engine, again).role == Role.quality
    expiring = add_user(engine, "temp.contractor", Role.analyst, ttl_days=1)
    assert user_for_token(engine, expiring) is not None
    with Session(engine) as session:
        session.execute(
            text("UPDATE app_user SET token_expires_at = :t WHERE name = 'temp.contractor'"),
            {"t": datetime.now(UTC) - timedelta(seconds=1)},
        )
        session.commit()
    assert user_for_token(engine, expiring) is None
    forever = add_user(engine, "svc.mes", Role.analyst, ttl_days=0)
    assert next(u for u in list_users(engine) if u.name == "svc.mes").token_expires_at is None
    assert user_for_token(engine, forever) is not None
    auditor = add_user(engine, "audit.ray", Role.auditor)
    assert user_for_token(engine, auditor).role == Role.auditor


def test_a_chain_belongs_to_one_change_and_ids_are_reserved_once(engine: Engine) -> None:
    """Defect 2: a second change under a used id can neither reserve it nor write to its chain."""
    from store.audit.trail import ChainOwnedError, append_event
    from store.changes import ChangeIdTakenError, release_change, reserve_change

    reserve_change(engine, "ECO-ONCE", chain_key="key-1", submitted_by="maria")
    with pytest.raises(ChangeIdTakenError, match="never reused"):
        reserve_change(engine, "ECO-ONCE", chain_key="key-2", submitted_by="mallory")
    append_event(
        engine,
        change_id="ECO-ONCE",
        event_key="e1",
        actor="maria",
        action="change.submitted",
        detail={},
        chain_key="key-1",
    )
    with pytest.raises(ChainOwnedError):
        append_event(
            engine,
            change_id="ECO-ONCE",
            event_key="e2",
            actor="mallory",
            action="change.submitted",
            detail={},
            chain_key="key-2",
        )
    release_change(engine, "ECO-ONCE", "key-2")  # not theirs: nothing released
    with pytest.raises(ChangeIdTakenError):
        reserve_change(engine, "ECO-ONCE", chain_key="key-3", submitted_by="mallory")
    # a run started in Temporal under a fresh id registers itself with its first event
    append_event(
        engine,
        change_id="ECO-DIRECT",
        event_key="d1",
        actor="ops",
        action="change.submitted",
        detail={},
        chain_key="run-1",
    )
    with pytest.raises(ChangeIdTakenError):
        reserve_change(engine, "ECO-DIRECT", chain_key="key-4", submitted_by="maria")
    assert verify_chain(engine, "ECO-ONCE").intact
    # the chain key is in every hash: moving an event to another chain breaks it
    tamper(engine, "UPDATE audit_event SET chain_key = 'key-x' WHERE event_key = 'e1'")
    assert not verify_chain(engine, "ECO-ONCE").intact


def test_the_outbox_takes_a_notice_once_and_marks_it_sent(tmp_path) -> None:
    from store.db import get_engine
    from store.outbox import enqueue, mark_sent, notifications

    engine = get_engine(f"sqlite:///{tmp_path / 'n.db'}")
    notice = dict(
        change_id="ECO-1",
        key="reminder:quality:-",
        kind="reminder",
        recipient="quality",
        approval="quality",
        message="ECO-1 waits for your quality approval",
    )
    assert enqueue(engine, **notice) is True
    assert enqueue(engine, **notice) is False  # a retried activity
    pending = notifications(engine, status="pending")
    assert [n.id for n in pending] == ["ECO-1:reminder:quality:-"]
    sent = mark_sent(engine, pending[0].id)
    assert sent.status == "sent" and sent.sent_at is not None
    assert notifications(engine, status="pending") == []
    assert mark_sent(engine, "nope") is None


def test_an_incremental_sync_that_brings_nothing_keeps_the_version_and_the_index(
    engine: Engine, tmp_path: Path, monkeypatch
) -> None:
    """Issue 9: nothing fetched -> no version bump (the index stays); each version's columns
    persist on disk, and a new process reads them there, not from the database."""
    from store.thread import cache as thread_cache
    from store.thread.index_cache import IndexCache

    store = ThreadStore(engine)
    sync_id, _ = store.begin("full")
    _stage_demo(store, sync_id)
    version = store.commit(sync_id).version
    watermark = store.state().watermark
    first = IndexCache(store, tmp_path)
    built_version, index = first.current()
    assert built_version == version and (tmp_path / "thread-cache" / f"v{version}").is_dir()

    sync_id, since = store.begin("incremental")
    assert since == watermark
    plants = [d for _s, _p, kind, _k, d in tables_rows(dataset("demo")) if kind == "plant"]
    store.stage(sync_id, "plant", "", plants)  # every run stages the configured plants
    assert store.commit(sync_id).version == version  # nothing else came: same thread
    assert store.state().watermark > watermark  # but fetched up to now
    assert first.current()[1] is index  # not rebuilt

    # a system that cannot filter by `since` sends its documents again: unchanged, no news
    orders = [
        d
        for _s, plant, kind, _k, d in tables_rows(dataset("demo"))
        if kind == "production_order" and plant == "DET"
    ]
    sync_id, _ = store.begin("incremental")
    store.stage(sync_id, "production_order", "DET", orders)
    assert store.commit(sync_id).version == version
    # one of them changed: a new version
    sync_id, _ = store.begin("incremental")
    store.stage(sync_id, "production_order", "DET", [{**orders[0], "qty": orders[0]["qty"] + 1}])
    assert store.commit(sync_id).version == version + 1
    version += 1
    first.current()

    # a new process: the columns come from the cache, the database's rows are not read
    monkeypatch.setattr(ThreadStore, "load", lambda self: pytest.fail("read the database"))
    cold_version, cold = IndexCache(store, tmp_path).current()
    reference = from_snapshot(build_demo_thread())
    assert cold_version == version and cold.t.counts() == reference.counts()
    assert (
        assess("ECO-T", bracket_request(), cold).counts()
        == assess("ECO-T", bracket_request(), ThreadIndex(reference)).counts()
    )
    # a damaged cache is ignored (the database is the truth)
    for path in (tmp_path / "thread-cache" / f"v{version}").glob("parts.number.*"):
        path.unlink()
    assert thread_cache.load(tmp_path, version) is None


def test_a_document_that_does_not_fit_its_kind_refuses_the_sync_whole(engine: Engine) -> None:
    """Issue 9: rows are made where a page is fetched and staged, so that is where documents
    are checked: a missing field or a wrong type refuses the sync, naming the document; nothing
    changes, and nothing of the run is left staged."""
    from store.thread.store import InvalidDocumentError

    store = ThreadStore(engine)
    sync_id, _ = store.begin("full")
    _stage_demo(store, sync_id)
    store.commit(sync_id)
    version, before = store.load()

    for bad in (
        {"id": "PO-DET-9999", "plant": "DET", "part": "100-200", "qty": 5},  # no due date
        {"id": "PO-DET-9998", "plant": "DET", "part": "100-200", "qty": "five", "due": "x"},
    ):
        sync_id, _ = store.begin("incremental")
        store.stage(sync_id, "part", "", [{"number": "100-300", "current_revision": "Z"}])
        with pytest.raises(
            InvalidDocumentError, match=f"production_order {bad['id']} of plant DET"
        ):
            store.stage_json(sync_id, "production_order", "DET", json.dumps({"items": [bad]}))
        assert store.report(sync_id).status == "failed"
        assert "is not a valid document" in store.report(sync_id).error
        assert store.commit(sync_id).status == "failed"  # a refused run never commits
        store.fail(sync_id, "fetch failed")  # as the workflow records it: the reason stays
        assert "is not a valid document" in store.report(sync_id).error
        with Session(engine) as session:
            assert not session.execute(
                select(ThreadStage).where(ThreadStage.sync_id == sync_id)
            ).first()
    after_version, after = store.load()
    assert after_version == version and after.counts() == before.counts()


def test_a_full_sync_staged_by_an_earlier_changeflow_still_commits(engine: Engine) -> None:
    """A run under way across an upgrade has pages staged as documents (before rows were made
    at the fetch): its commit makes their rows; a full commit reports dangling references."""
    store = ThreadStore(engine)
    sync_id, _ = store.begin("full")
    by_kind: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for _system, plant, kind, _key, doc in tables_rows(dataset("demo")):
        by_kind[(kind, plant)].append(doc)
    with Session(engine) as session:  # the earlier format: one staged row of documents per page
        for (kind, plant), docs in by_kind.items():
            session.add(ThreadStage(sync_id=sync_id, kind=kind, plant=plant, doc=json.dumps(docs)))
        session.add(
            ThreadStage(
                sync_id=sync_id,
                kind="ebom_line",
                doc=json.dumps([{"parent": "200-100", "child": "999-GHOST"}]),
            )
        )
        session.commit()
    report = store.commit(sync_id)
    assert report.status == "committed", report.error
    assert report.warnings == ["part 999-GHOST is referenced 1 time(s) but not in PLM"]
    _, tables = store.load()
    reference = from_snapshot(build_demo_thread())
    assert tables.counts()["parts"] == reference.counts()["parts"]
    assert tables.counts()["ebom"] == reference.counts()["ebom"]
    assert report.counts["thread_ebom"] == reference.counts()["ebom"] + 1  # the ghost's line too
