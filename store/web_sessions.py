"""Page sessions of signed-in approvers: a random cookie value (only its hash is stored), an
expiry, and a CSRF token that every form of the session must carry. A session also knows whether
its first signing was made (with every component: name and password) and, when the policy allows
signing sessions, until when it signs without the password: that belongs to this one browser
session, is opened by a signing (never by signing in) and no other channel (the API, another
browser) shares it."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, delete

from store.tables import WebSessionRow
from store.times import as_utc

SESSION_HOURS = 8


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def open_session(engine: Engine, user_name: str) -> tuple[str, str]:
    """A new session: (cookie value, CSRF token)."""
    value, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(
            WebSessionRow(
                id_hash=_hash(value),
                user_name=user_name,
                csrf=csrf,
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
        session.commit()
    return value, csrf


def find_session(engine: Engine, value: str | None) -> WebSessionRow | None:
    """The live session of this cookie value, or None."""
    if not value:
        return None
    with Session(engine) as session:
        row = session.get(WebSessionRow, _hash(value))
    if row is None:
        return None
    expires = as_utc(row.expires_at)
    return row if expires > datetime.now(UTC) else None


def close_session(engine: Engine, value: str | None) -> None:
    if not value:
        return
    with Session(engine) as session:
        session.exec(delete(WebSessionRow).where(WebSessionRow.id_hash == _hash(value)))
        session.commit()


def record_signing(engine: Engine, value: str | None, session_minutes: float) -> None:
    """The session signed with the password: its first signing is made, and with
    `session_minutes` > 0 it signs without the password until then (from this signing)."""
    if not value:
        return
    now = datetime.now(UTC)
    with Session(engine) as session:
        row = session.get(WebSessionRow, _hash(value))
        if row is None:
            return
        row.first_signed_at = row.first_signed_at or now
        minutes = timedelta(minutes=session_minutes)
        row.signing_until = now + minutes if session_minutes > 0 else None
        session.add(row)
        session.commit()


def signing_session_open(row: WebSessionRow | None, now: datetime | None = None) -> bool:
    until = as_utc(row.signing_until) if row is not None else None
    return until is not None and until > (now or datetime.now(UTC))
