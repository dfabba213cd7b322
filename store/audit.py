"""The audit trail: append-only, hash-chained per change, so any edit or gap is detectable."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from store.tables import AuditRow, ChangeRow, UserRow

GENESIS = "0" * 64


class ChainOwnedError(ValueError):
    """The change id's audit chain belongs to another change (a reused id)."""


class AuditEvent(BaseModel):
    change_id: str
    seq: int
    global_seq: int | None = None
    at: datetime
    actor: str
    actor_name: str | None = None
    action: str
    detail: dict[str, Any]
    workflow_id: str | None = None
    run_id: str | None = None
    prev_hash: str
    hash: str


class AuditVerification(BaseModel):
    change_id: str
    events: int
    intact: bool
    problems: list[str]
    first_broken: int | None = None  # the per-change sequence of the first record that fails


def _digest(
    prev_hash: str,
    change_id: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    detail: str,
    chain_key: str | None = None,
    *extra: str | None,
) -> str:
    parts = [prev_hash, change_id, str(seq), at.isoformat(), actor, action, detail]
    if chain_key is not None:  # chains written before chain keys existed verify as they were
        parts.append(chain_key)
    if any(extra):  # so do records written before these fields existed
        parts += [value or "" for value in extra]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _claim_chain(
    session: Session, change_id: str, chain_key: str, actor: str, at: datetime
) -> None:
    """The chain belongs to the change registered under this id; a run that was started in
    Temporal without the API registers itself here with its first event."""
    owner = session.get(ChangeRow, change_id)
    if owner is None:
        session.add(
            ChangeRow(
                change_id=change_id,
                chain_key=chain_key,
                submitted_by=actor,
                created_at=at,
                source="temporal",
            )
        )
        session.flush()
    elif owner.chain_key != chain_key:
        raise ChainOwnedError(
            f"change id {change_id} belongs to another change (submitted by "
            f"{owner.submitted_by}); this run may not write to its audit trail"
        )


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def append_event(
    engine: Engine,
    *,
    change_id: str,
    event_key: str,
    actor: str,
    action: str,
    detail: dict[str, Any],
    at: datetime | None = None,
    chain_key: str | None = None,
    workflow_id: str | None = None,
    run_id: str | None = None,
) -> AuditEvent:
    """Append one event; the same event_key appends nothing the second time. With a chain key,
    the event is refused (ChainOwnedError) unless the change id's chain belongs to that key."""
    at = _as_utc(at or datetime.now(UTC))
    body = json.dumps(detail, sort_keys=True, default=str)
    for _attempt in range(5):
        with Session(engine) as session:
            existing = session.exec(select(AuditRow).where(AuditRow.event_key == event_key)).first()
            if existing is not None:
                return _to_event(existing)
            if chain_key is not None:
                _claim_chain(session, change_id, chain_key, actor, at)
            person = session.exec(select(UserRow).where(UserRow.name == actor)).first()
            actor_name = (person.full_name or person.name) if person else None
            last = session.exec(
                select(AuditRow)
                .where(AuditRow.change_id == change_id)
                .order_by(AuditRow.seq.desc())  # type: ignore[union-attr]
            ).first()
            seq = (last.seq + 1) if last else 1
            prev = last.hash if last else GENESIS
            row = AuditRow(
                change_id=change_id,
                seq=seq,
                event_key=event_key,
                chain_key=chain_key,
                at=at,
                actor=actor,
                action=action,
                detail=body,
                prev_hash=prev,
                hash=_digest(
                    prev,
                    change_id,
                    seq,
                    at,
                    actor,
                    action,
                    body,
                    chain_key,
                    actor_name,
                    workflow_id,
                    run_id,
                ),
                actor_name=actor_name,
                workflow_id=workflow_id,
                run_id=run_id,
            )
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue  # a concurrent append took this seq: read again
            session.refresh(row)
            return _to_event(row)
    raise RuntimeError(f"could not append audit event {event_key} after 5 attempts")


def read_events(engine: Engine, change_id: str) -> list[AuditEvent]:
    with Session(engine) as session:
        rows = session.exec(
            select(AuditRow).where(AuditRow.change_id == change_id).order_by(AuditRow.seq)
        ).all()
    return [_to_event(r) for r in rows]


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
            _as_utc(row.at),
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


def _to_event(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        change_id=row.change_id,
        seq=row.seq,
        global_seq=row.id,
        at=_as_utc(row.at),
        actor=row.actor,
        actor_name=row.actor_name,
        action=row.action,
        detail=json.loads(row.detail),
        workflow_id=row.workflow_id,
        run_id=row.run_id,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


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
    return _as_utc(row) if row is not None else None
