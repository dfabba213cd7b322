"""The audit trail: append-only, hash-chained per change, so any edit or gap is detectable.
Appending is here (one transaction per workflow step); reading and checking in audit_read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from store.tables import AuditRow, ChangeRow, UserRow
from store.times import as_utc

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


@dataclass(frozen=True)
class NewEvent:
    """One event to append (see append_events)."""

    change_id: str
    event_key: str
    actor: str
    action: str
    detail: dict[str, Any]
    at: datetime | None = None
    chain_key: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None


def append_event(engine: Engine, **fields: Any) -> AuditEvent:
    """Append one event; the same event_key appends nothing the second time. With a chain key,
    the event is refused (ChainOwnedError) unless the change id's chain belongs to that key."""
    return append_events(engine, [NewEvent(**fields)])[0]


def append_events(engine: Engine, events: Sequence[NewEvent]) -> list[AuditEvent]:
    """Append events in order, in one transaction: each is recorded once by its event_key (one
    already recorded is answered as it was), each chain's head is read once, and a concurrent
    append to the same chain makes the whole batch read again. Refused whole (ChainOwnedError)
    if one of them writes to a chain that belongs to another change."""
    stamped = [
        (e, as_utc(e.at or datetime.now(UTC)), json.dumps(e.detail, sort_keys=True, default=str))
        for e in events
    ]
    for _attempt in range(5):
        with Session(engine, expire_on_commit=False) as session:
            keys = [e.event_key for e in events]
            existing = {
                row.event_key: row
                for row in session.exec(
                    select(AuditRow).where(AuditRow.event_key.in_(keys))  # type: ignore[attr-defined]
                )
            }
            fresh = [s for s in stamped if s[0].event_key not in existing]
            claimed: set[tuple[str, str]] = set()
            for event, at, _body in fresh:
                owner = (event.change_id, event.chain_key)
                if event.chain_key is not None and owner not in claimed:
                    _claim_chain(session, event.change_id, event.chain_key, event.actor, at)
                    claimed.add(owner)  # type: ignore[arg-type]
            names = _printed_names(session, {e.actor for e, _at, _body in fresh})
            heads: dict[str, tuple[int, str]] = {}
            rows: dict[str, AuditRow] = {}
            for event, at, body in fresh:
                if event.event_key in rows:  # the same event twice in one batch: once
                    continue
                seq, prev = heads.get(event.change_id) or _head(session, event.change_id)
                seq += 1
                actor_name = names.get(event.actor)
                row = AuditRow(
                    change_id=event.change_id,
                    seq=seq,
                    event_key=event.event_key,
                    chain_key=event.chain_key,
                    at=at,
                    actor=event.actor,
                    action=event.action,
                    detail=body,
                    prev_hash=prev,
                    hash=_digest(
                        prev,
                        event.change_id,
                        seq,
                        at,
                        event.actor,
                        event.action,
                        body,
                        event.chain_key,
                        actor_name,
                        event.workflow_id,
                        event.run_id,
                    ),
                    actor_name=actor_name,
                    workflow_id=event.workflow_id,
                    run_id=event.run_id,
                )
                heads[event.change_id] = (seq, row.hash)
                rows[event.event_key] = row
            session.add_all(rows.values())
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue  # a concurrent append took a seq: read again
            done = {**existing, **rows}
            return [_to_event(done[e.event_key]) for e in events]
    raise RuntimeError(f"could not append audit events {events[0].event_key}... after 5 attempts")


def _head(session: Session, change_id: str) -> tuple[int, str]:
    """The chain's last sequence number and hash (0 and the genesis hash when empty)."""
    last = session.exec(
        select(AuditRow.seq, AuditRow.hash)
        .where(AuditRow.change_id == change_id)
        .order_by(AuditRow.seq.desc())  # type: ignore[union-attr]
        .limit(1)
    ).first()
    return (last[0], last[1]) if last else (0, GENESIS)


def _printed_names(session: Session, actors: set[str]) -> dict[str, str]:
    """The printed name of each actor who is a person (a user)."""
    if not actors:
        return {}
    users = session.exec(select(UserRow).where(UserRow.name.in_(actors)))  # type: ignore[attr-defined]
    return {u.name: u.full_name or u.name for u in users}


def _to_event(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        change_id=row.change_id,
        seq=row.seq,
        global_seq=row.id,
        at=as_utc(row.at),
        actor=row.actor,
        actor_name=row.actor_name,
        action=row.action,
        detail=json.loads(row.detail),
        workflow_id=row.workflow_id,
        run_id=row.run_id,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
