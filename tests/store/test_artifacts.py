"""Artifacts (impact reports, plans) and the notification outbox, on SQLite and on a throwaway
PostgreSQL (the `engine` fixture: tests/store/conftest.py)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from domain.impact.report import ImpactReport
from store.artifacts import artifact_id, latest_artifact_id, load_artifact, save_artifact
from tests.support.data import assess_demo, bracket_request
from tests.support.db import migrated_engine


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


def test_the_outbox_takes_a_notice_once_and_marks_it_sent(tmp_path) -> None:
    from store.outbox import enqueue, mark_sent, notifications

    engine = migrated_engine(f"sqlite:///{tmp_path / 'n.db'}")
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
