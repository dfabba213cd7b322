"""The thread store on SQLite and on a throwaway PostgreSQL: staged sync runs, full and
incremental commits, refused runs, joinable runs, indexes, the persisted columns."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from connectors.sim.dataset import dataset, tables_rows
from connectors.sim.seed import build_demo_thread
from domain.impact.engine import assess
from domain.thread.index import ThreadIndex
from domain.thread.tables import from_snapshot
from store.thread.schema import ThreadStage
from store.thread.store import CyclicBomError, ThreadStore
from tests.support.data import bracket_request


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
