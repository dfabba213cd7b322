"""Reading the audit trail: a change's events, the check of its hash chain (an edited, removed
or reordered event breaks it), every chain's head, and when a system was last written to."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store.audit.trail import GENESIS, AuditEvent, _digest, _to_event
from store.tables import AuditRow
from store.times import as_utc


class AuditVerification(BaseModel):
    change_id: str
    events: int
    intact: bool
    problems: list[str]
    first_broken: int | None = None  # the per-change sequence of the first record that fails


def read_events(engine: Engine, change_id: str) -> list[AuditEvent]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditRow).where(AuditRow.change_id == change_id).order_by(AuditRow.seq)
        ).all()
    return [_to_event(r) for r in rows]


def applied_by(engine: Engine, change_id: str, workflow_id: str) -> list[dict[str, Any]]:
    """The tasks a workflow of this change recorded as applied (`task.applied`), in order: each
    one's id and what the system held before (what an undo restores)."""
    with Session(engine) as session:
        rows = session.exec(
            select(AuditRow.detail)
            .where(
                AuditRow.change_id == change_id,
                AuditRow.workflow_id == workflow_id,
                AuditRow.action == "task.applied",
            )
            .order_by(AuditRow.seq)
        ).all()
    details = [json.loads(detail) for detail in rows]
    return [{"task_id": d["task_id"], "before": d.get("before")} for d in details]


def verify_chain(engine: Engine, change_id: str) -> AuditVerification:
    """Recompute every hash: an edited, removed or reordered event breaks the chain."""
    problems = []
    prev = GENESIS
    with Session(engine) as session:
        rows = session.exec(
            select(AuditRow).where(AuditRow.change_id == change_id).order_by(AuditRow.seq)
        ).all()
    keys = {row.chain_key for row in rows if row.chain_key is not None}
    if len(keys) > 1:
        problems.append(f"the chain mixes events of {len(keys)} different changes")
    first: int | None = None
    for expected_seq, row in enumerate(rows, start=1):
        found = len(problems)
        if row.seq != expected_seq:
            problems.append(
                f"record {expected_seq} is missing (deleted, or records were renumbered): "
                f"found {row.seq} in its place"
            )
        if row.prev_hash != prev:
            problems.append(
                f"record {row.seq} ({row.action}) does not follow the one before it "
                "(a record was inserted, deleted or reordered before it)"
            )
        digest = _digest(
            row.prev_hash,
            row.change_id,
            row.seq,
            as_utc(row.at),
            row.actor,
            row.action,
            row.detail,
            row.chain_key,
            row.actor_name,
            row.workflow_id,
            row.run_id,
        )
        if digest != row.hash:
            problems.append(f"record {row.seq} ({row.action}) was altered after it was written")
        if len(problems) > found and first is None:
            first = row.seq
        prev = row.hash
    return AuditVerification(
        change_id=change_id,
        events=len(rows),
        intact=not problems,
        problems=problems,
        first_broken=first,
    )


def chain_ids(engine: Engine) -> list[str]:
    """Every change id with an audit chain."""
    with Session(engine) as session:
        return sorted(set(session.exec(select(AuditRow.change_id)).all()))


def chain_heads(engine: Engine) -> dict[str, tuple[int, str]]:
    """Each chain's last record: {change_id: (seq, hash)}."""
    heads: dict[str, tuple[int, str]] = {}
    with Session(engine) as session:
        for change_id, seq, digest in session.exec(
            select(AuditRow.change_id, AuditRow.seq, AuditRow.hash)
        ).all():
            if change_id not in heads or seq > heads[change_id][0]:
                heads[change_id] = (seq, digest)
    return heads


def record_at(engine: Engine, change_id: str, seq: int) -> AuditRow | None:
    with Session(engine) as session:
        return session.exec(
            select(AuditRow).where(AuditRow.change_id == change_id, AuditRow.seq == seq)
        ).first()


WRITES = ("task.applied", "task.compensated", "tasks.applied", "tasks.compensated")


def last_write_at(engine: Engine) -> datetime | None:
    """When changeflow last wrote to (or undid a write in) a system of record, by any change."""
    with Session(engine) as session:
        row = session.exec(
            select(AuditRow.at)
            .where(AuditRow.action.in_(WRITES))  # type: ignore[attr-defined]
            .order_by(AuditRow.at.desc())  # type: ignore[attr-defined]
            .limit(1)
        ).first()
    return as_utc(row) if row is not None else None
