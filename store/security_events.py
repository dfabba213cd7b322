"""The security log: what happened to people's credentials, beside the audit trail of changes
(store/audit/, one chain per change). A user locked after wrong passwords, the lock's expiry and
an admin's unlock, a name or a client address throttled after failed sign-ins or signings, a
password set. Append-only; `changeflow users events` reads it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from store.tables import SecurityEventRow
from store.times import as_utc

LOCKED = "user.locked"
LOCK_EXPIRED = "user.lock_expired"
UNLOCKED = "user.unlocked"
PASSWORD_SET = "user.password_set"
THROTTLED = "login.throttled"


class SecurityEvent(BaseModel):
    id: int
    at: datetime
    kind: str
    user_name: str | None = None
    address: str | None = None
    actor: str
    detail: dict[str, Any]


def record_security_event(
    engine: Engine,
    kind: str,
    *,
    actor: str,
    user_name: str | None = None,
    address: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    with Session(engine) as session:
        session.add(
            SecurityEventRow(
                at=at or datetime.now(UTC),
                kind=kind,
                user_name=user_name,
                address=address,
                actor=actor,
                detail=json.dumps(detail or {}, sort_keys=True, default=str),
            )
        )
        session.commit()


def security_events(
    engine: Engine, *, user_name: str | None = None, kind: str | None = None, limit: int = 200
) -> list[SecurityEvent]:
    """The newest events first (of one user, or of one kind, when asked)."""
    query = select(SecurityEventRow)
    if user_name is not None:
        query = query.where(SecurityEventRow.user_name == user_name)
    if kind is not None:
        query = query.where(SecurityEventRow.kind == kind)
    query = query.order_by(SecurityEventRow.id.desc()).limit(limit)  # type: ignore[union-attr]
    with Session(engine) as session:
        rows = session.exec(query).all()
    return [
        SecurityEvent(
            id=row.id or 0,
            at=as_utc(row.at),
            kind=row.kind,
            user_name=row.user_name,
            address=row.address,
            actor=row.actor,
            detail=json.loads(row.detail),
        )
        for row in rows
    ]
