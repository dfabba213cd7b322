"""The audit chain on SQLite and on a throwaway PostgreSQL: idempotent appends, batches in one
transaction, chains owned by one change, what a plant workflow recorded read back, tampering
found. (Append-only enforcement and every kind of tampering: test_audit_integrity.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from domain.approvals.decisions import Role
from store.audit.read import read_events, verify_chain
from store.audit.trail import append_event
from store.users import (
    add_user,
)
from tests.support.tamper import tamper


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
